//go:build unix

package dockerapi

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"google.golang.org/grpc"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
)

// quietStream is an agent Attach stream of a container that writes
// nothing: Recv blocks until the container exits (exit is closed) or the
// server ends the stream (its context).
type quietStream struct {
	grpc.ClientStream
	ctx  context.Context
	exit chan struct{}
}

func (q *quietStream) Send(*apiv1.StreamInput) error { return nil }
func (q *quietStream) CloseSend() error              { return nil }

func (q *quietStream) Recv() (*apiv1.StreamOutput, error) {
	select {
	case <-q.exit:
		return &apiv1.StreamOutput{Msg: &apiv1.StreamOutput_Exit{Exit: &apiv1.Exit{}}}, nil
	case <-q.ctx.Done():
		return nil, q.ctx.Err()
	}
}

// quietContainers hands out quietStreams and reports each one's context.
type quietContainers struct {
	fakeContainers
	exit    chan struct{}
	streams chan context.Context
}

func (q *quietContainers) Attach(ctx context.Context, _ ...grpc.CallOption) (grpc.BidiStreamingClient[apiv1.StreamInput, apiv1.StreamOutput], error) {
	q.streams <- ctx
	return &quietStream{ctx: ctx, exit: q.exit}, nil
}

// TestAttachWithoutStdinEnds: an attach without stdin whose client only
// half-closes stays (the docker CLI half-closes at once and still reads),
// ends as soon as the container exits, and ends as soon as the client
// hangs up, with no write to notice it by.
func TestAttachWithoutStdinEnds(t *testing.T) {
	fake := &quietContainers{exit: make(chan struct{}), streams: make(chan context.Context, 4)}
	c := serveTest(t, New(Backend{Version: "test", Client: &agentclient.Client{Containers: fake}}))
	attach := func() (client.ContainerAttachResult, context.Context) {
		t.Helper()
		res, err := c.ContainerAttach(context.Background(), "c1", client.ContainerAttachOptions{Stream: true, Stdout: true, Stderr: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := res.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		select {
		case ctx := <-fake.streams:
			return res, ctx
		case <-time.After(5 * time.Second):
			t.Fatal("the server opened no agent stream")
			return res, nil
		}
	}

	res, agent := attach()
	select {
	case <-agent.Done():
		t.Fatal("a half-close ended the attach")
	case <-time.After(3 * hangupPoll):
	}
	res.Close()
	select {
	case <-agent.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the attach outlived its client's hang-up")
	}

	res, _ = attach()
	defer res.Close()
	ended := make(chan error, 1)
	go func() { _, err := io.ReadAll(res.Reader); ended <- err }()
	close(fake.exit)
	select {
	case err := <-ended:
		if err != nil {
			t.Errorf("read to the end: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream did not end when the container exited")
	}
}

package dockerapi

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
	"google.golang.org/grpc"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
)

// fakeStream is an agent Attach stream that records what the server sends
// and answers each client's stdin end with scripted output. It stands in
// for the agent only in these framing tests; the e2e tests use the real
// one.
type fakeStream struct {
	grpc.ClientStream
	mu     sync.Mutex
	sent   []*apiv1.StreamInput
	closed chan struct{}
	out    []*apiv1.StreamOutput
}

func (f *fakeStream) Send(m *apiv1.StreamInput) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, m)
	if m.GetCloseStdin() {
		close(f.closed)
	}
	return nil
}

// Recv waits for the client's half-close, then plays the output.
func (f *fakeStream) Recv() (*apiv1.StreamOutput, error) {
	<-f.closed
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.out) == 0 {
		return nil, io.EOF
	}
	m := f.out[0]
	f.out = f.out[1:]
	return m, nil
}

func (f *fakeStream) CloseSend() error { return nil }

func (f *fakeStream) stdin() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b []byte
	for _, m := range f.sent {
		b = append(b, m.GetStdin()...)
	}
	return b
}

type fakeContainers struct {
	apiv1.ContainersClient
	tty    bool
	stream *fakeStream
}

func (f *fakeContainers) Inspect(_ context.Context, ref *apiv1.ContainerRef, _ ...grpc.CallOption) (*apiv1.Container, error) {
	if ref.GetId() == "missing" {
		return nil, errdefs.ErrNotFound.WithMessage("No such container: missing")
	}
	return &apiv1.Container{Id: "c1", Config: &apiv1.ContainerConfig{Tty: f.tty, OpenStdin: true},
		State: &apiv1.ContainerState{Status: "running", Running: true}}, nil
}

func (f *fakeContainers) Attach(context.Context, ...grpc.CallOption) (grpc.BidiStreamingClient[apiv1.StreamInput, apiv1.StreamOutput], error) {
	return f.stream, nil
}

func output(kind apiv1.StreamKind, s string) *apiv1.StreamOutput {
	return &apiv1.StreamOutput{Msg: &apiv1.StreamOutput_Output{Output: &apiv1.Output{Stream: kind, Data: []byte(s)}}}
}

// serveTest serves s on a unix socket and returns a moby client of it.
func serveTest(t *testing.T, s *Server) *client.Client {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := Listen(sock, "test")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = Serve(ctx, l, s) }()
	t.Cleanup(func() { cancel(); <-done })
	c, err := client.New(client.WithHost("unix://" + sock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestAttachFramingAndHalfClose(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tty   bool
		media string
		// golden is the exact bytes on the wire after the headers.
		golden []byte
	}{
		{name: "multiplexed", media: multiplexedStream, golden: []byte("\x01\x00\x00\x00\x00\x00\x00\x06hello\n\x02\x00\x00\x00\x00\x00\x00\x04err\n")},
		{name: "tty", tty: true, media: rawStream, golden: []byte("hello\nerr\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &fakeStream{closed: make(chan struct{}), out: []*apiv1.StreamOutput{
				output(apiv1.StreamKind_STREAM_STDOUT, "hello\n"),
				output(apiv1.StreamKind_STREAM_STDERR, "err\n"),
				{Msg: &apiv1.StreamOutput_Exit{Exit: &apiv1.Exit{Code: 0}}},
			}}
			s := New(Backend{Version: "test", Client: &agentclient.Client{Containers: &fakeContainers{tty: tc.tty, stream: st}}})
			c := serveTest(t, s)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res, err := c.ContainerAttach(ctx, "c1", client.ContainerAttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
			if err != nil {
				t.Fatal(err)
			}
			defer res.Close()
			if mt, _ := res.MediaType(); mt != tc.media {
				t.Errorf("media type %q, want %q", mt, tc.media)
			}
			if _, err := res.Conn.Write([]byte("typed input")); err != nil {
				t.Fatal(err)
			}
			// The half-close is the end of the container's stdin; the
			// output still arrives after it.
			if err := res.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			raw, err := io.ReadAll(res.Reader)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(raw, tc.golden) {
				t.Errorf("wire bytes %q, want %q", raw, tc.golden)
			}
			if got := st.stdin(); string(got) != "typed input" {
				t.Errorf("stdin %q, want %q", got, "typed input")
			}
			if !tc.tty {
				var o, e bytes.Buffer
				if _, err := stdcopy.StdCopy(&o, &e, bytes.NewReader(raw)); err != nil || o.String() != "hello\n" || e.String() != "err\n" {
					t.Errorf("stdcopy: %q %q %v", o.String(), e.String(), err)
				}
			}
		})
	}
}

func TestClientNegotiatesAndSeesErrors(t *testing.T) {
	s := New(Backend{Version: "test", Client: &agentclient.Client{Containers: &fakeContainers{stream: &fakeStream{closed: make(chan struct{})}}}})
	c := serveTest(t, s)
	ctx := context.Background()
	p, err := c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.APIVersion != MaxAPIVersion || p.OSType != "linux" {
		t.Errorf("ping: %+v", p)
	}
	if v := c.ClientVersion(); v != MaxAPIVersion {
		t.Errorf("negotiated %s, want %s", v, MaxAPIVersion)
	}
	_, err = c.ContainerInspect(ctx, "missing", client.ContainerInspectOptions{})
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "No such container: missing") {
		t.Errorf("inspect of a missing container: %v", err)
	}
}

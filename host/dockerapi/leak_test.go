package dockerapi

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
)

// streamingAgent is a gRPC agent whose streams send one message and then
// last until the caller ends them; live counts the streams still open,
// which is what a disconnected docker client must not leave behind.
type streamingAgent struct {
	live atomic.Int64
}

// The agent's services, one type each, all counting on one agent.
type (
	leakContainers struct {
		apiv1.UnimplementedContainersServer
		*streamingAgent
	}
	leakEvents struct {
		apiv1.UnimplementedEventsServer
		*streamingAgent
	}
	leakStats struct {
		apiv1.UnimplementedStatsServer
		*streamingAgent
	}
	leakImages struct {
		apiv1.UnimplementedImagesServer
		*streamingAgent
	}
)

func (a *streamingAgent) hold(ctx context.Context) error {
	a.live.Add(1)
	defer a.live.Add(-1)
	<-ctx.Done()
	return ctx.Err()
}

func (a leakContainers) Inspect(context.Context, *apiv1.ContainerRef) (*apiv1.Container, error) {
	return &apiv1.Container{Id: "c1", Name: "c1", Config: &apiv1.ContainerConfig{}, State: &apiv1.ContainerState{Status: "running", Running: true}}, nil
}

func (a leakContainers) Logs(_ *apiv1.LogsRequest, st grpc.ServerStreamingServer[apiv1.LogEntry]) error {
	if err := st.Send(&apiv1.LogEntry{Data: []byte("line\n")}); err != nil {
		return err
	}
	return a.hold(st.Context())
}

func (a leakContainers) Attach(st grpc.BidiStreamingServer[apiv1.StreamInput, apiv1.StreamOutput]) error {
	if _, err := st.Recv(); err != nil {
		return err
	}
	if err := st.Send(output(apiv1.StreamKind_STREAM_STDOUT, "out\n")); err != nil {
		return err
	}
	return a.hold(st.Context())
}

func (a leakEvents) Events(_ *apiv1.EventsRequest, st grpc.ServerStreamingServer[apiv1.Event]) error {
	if err := st.Send(&apiv1.Event{Type: "container", Action: "start", Actor: &apiv1.EventActor{Id: "c1"}, Scope: "local", TimeNano: time.Now().UnixNano()}); err != nil {
		return err
	}
	return a.hold(st.Context())
}

func (a leakStats) Stats(_ *apiv1.StatsRequest, st grpc.ServerStreamingServer[apiv1.ContainerStats]) error {
	for range 2 {
		if err := st.Send(&apiv1.ContainerStats{Id: "c1", Name: "c1", Read: time.Now().UnixNano()}); err != nil {
			return err
		}
	}
	return a.hold(st.Context())
}

func (a leakImages) Pull(_ *apiv1.PullRequest, st grpc.ServerStreamingServer[apiv1.PullProgress]) error {
	if err := st.Send(&apiv1.PullProgress{Id: "layer", Status: "Downloading", Current: 1, Total: 10}); err != nil {
		return err
	}
	return a.hold(st.Context())
}

// openFDs counts the process's open files.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd to count files by: %v", err)
	}
	return len(ents)
}

// TestDisconnectLeaksNothing: docker clients that go away in the middle
// of logs -f, attach, events, stats and a pull leave no agent stream, no
// goroutine and no open file behind in the server, which keeps running
// for days in the host daemon.
func TestDisconnectLeaksNothing(t *testing.T) {
	dir := t.TempDir()
	agentSock := filepath.Join(dir, "agent.sock")
	l, err := net.Listen("unix", agentSock)
	if err != nil {
		t.Fatal(err)
	}
	agent := &streamingAgent{}
	gs := grpc.NewServer()
	apiv1.RegisterContainersServer(gs, leakContainers{streamingAgent: agent})
	apiv1.RegisterEventsServer(gs, leakEvents{streamingAgent: agent})
	apiv1.RegisterStatsServer(gs, leakStats{streamingAgent: agent})
	apiv1.RegisterImagesServer(gs, leakImages{streamingAgent: agent})
	go func() { _ = gs.Serve(l) }()
	t.Cleanup(gs.Stop)
	client, err := agentclient.New(agentSock, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })

	sock := filepath.Join(dir, "docker.sock")
	dl, err := Listen(sock, "test")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { defer close(served); _ = Serve(ctx, dl, New(Backend{Version: "test", Client: client})) }()
	t.Cleanup(func() { cancel(); <-served })

	requests := []struct{ name, req string }{
		{"logs -f", "GET /v1.44/containers/c1/logs?follow=1&stdout=1 HTTP/1.1\r\nHost: docker\r\n\r\n"},
		{"attach", "POST /v1.44/containers/c1/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n"},
		{"events", "GET /v1.44/events HTTP/1.1\r\nHost: docker\r\n\r\n"},
		{"stats", "GET /v1.44/containers/c1/stats HTTP/1.1\r\nHost: docker\r\n\r\n"},
		{"pull", "POST /v1.44/images/create?fromImage=localhost/busybox&tag=latest HTTP/1.1\r\nHost: docker\r\nContent-Length: 0\r\n\r\n"},
	}
	// disconnect opens each stream, reads until its first bytes of body
	// arrive (the agent's stream is then open), and hangs up.
	disconnect := func(t *testing.T) {
		t.Helper()
		for _, rq := range requests {
			conn, err := net.Dial("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := conn.Write([]byte(rq.req)); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			status, err := br.ReadString('\n')
			if err != nil || !strings.Contains(status, " 200 ") && !strings.Contains(status, " 101 ") {
				t.Fatalf("%s: status %q, %v", rq.name, status, err)
			}
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					t.Fatalf("%s: headers: %v", rq.name, err)
				}
				if line == "\r\n" {
					break
				}
			}
			if _, err := br.ReadByte(); err != nil {
				t.Fatalf("%s: no body before the hang-up: %v", rq.name, err)
			}
			conn.Close()
		}
	}
	settled := func(what string, f func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !f() {
			if time.Now().After(deadline) {
				t.Fatalf("after the disconnects: %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// A first round makes what lives for the server's lifetime (the
	// agent connection and its goroutines).
	disconnect(t)
	settled("agent streams still open", func() bool { return agent.live.Load() == 0 })
	time.Sleep(200 * time.Millisecond)
	goroutines, fds := runtime.NumGoroutine(), openFDs(t)

	const rounds = 10
	for range rounds {
		disconnect(t)
	}
	settled(fmt.Sprintf("%d agent streams still open", agent.live.Load()), func() bool { return agent.live.Load() == 0 })
	// A few goroutines may come and go (the gRPC transport's); a leak of
	// one per disconnect would be 50.
	settled("goroutines left behind", func() bool { return runtime.NumGoroutine() <= goroutines+3 })
	settled("files left open", func() bool { return openFDs(t) <= fds+2 })
}

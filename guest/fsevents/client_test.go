package fsevents

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// fakeHost is a FileEvents server that records the roots asked for and
// sends the batches a test queues.
type fakeHost struct {
	apiv1.UnimplementedFileEventsServer
	mu      sync.Mutex
	reqs    [][]*apiv1.FilePath
	streams int
	send    chan *apiv1.FileEventBatch
	fail    chan struct{} // a receive ends the current stream
}

func (h *fakeHost) Watch(stream grpc.BidiStreamingServer[apiv1.FileWatchRequest, apiv1.FileEventBatch]) error {
	h.mu.Lock()
	h.streams++
	h.mu.Unlock()
	go func() {
		for {
			req, err := stream.Recv()
			if err != nil {
				return
			}
			h.mu.Lock()
			h.reqs = append(h.reqs, req.GetRoots())
			h.mu.Unlock()
		}
	}()
	for {
		select {
		case b := <-h.send:
			if err := stream.Send(b); err != nil {
				return err
			}
		case <-h.fail:
			return io.ErrUnexpectedEOF
		case <-stream.Context().Done():
			return nil
		}
	}
}

func (h *fakeHost) lastRoots() ([]*apiv1.FilePath, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.reqs) == 0 {
		return nil, 0
	}
	return h.reqs[len(h.reqs)-1], len(h.reqs)
}

// recorder is a Replayer that records what it is given.
type recorder struct {
	mu     sync.Mutex
	events []Event
	rescan []string
}

func (r *recorder) Replay(events []Event, rescan []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, events...)
	r.rescan = append(r.rescan, rescan...)
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func startFakeHost(t *testing.T) (*fakeHost, func(context.Context, string) (net.Conn, error)) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &fakeHost{send: make(chan *apiv1.FileEventBatch, 10), fail: make(chan struct{}, 1)}
	srv := grpc.NewServer()
	apiv1.RegisterFileEventsServer(srv, h)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return h, func(ctx context.Context, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", l.Addr().String())
	}
}

func TestClientWatchesTheBindsAndReplaysAtTheirGuestPaths(t *testing.T) {
	h, dial := startFakeHost(t)
	rec := &recorder{}
	c := NewClient(slog.New(slog.DiscardHandler), NewMapper(testShares), rec)
	c.SetBinds([]string{"/home/u/app", "/var/lib/x"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Connect(ctx, dial) }()
	t.Cleanup(func() { cancel(); <-done })

	eventually(t, "the roots", func() bool {
		r, _ := h.lastRoots()
		return len(r) == 1 && r[0].GetShare() == "share0" && r[0].GetPath() == "app"
	})
	h.send <- &apiv1.FileEventBatch{
		Events: []*apiv1.FileEvent{
			{Path: &apiv1.FilePath{Share: "share0", Path: "app/main.go"}, Change: apiv1.FileChange_FILE_CHANGE_CONTENT},
			{Path: &apiv1.FilePath{Share: "share0", Path: "../../etc/passwd"}, Change: apiv1.FileChange_FILE_CHANGE_CONTENT},
			{Path: &apiv1.FilePath{Share: "share0", Path: "app/old"}, Change: apiv1.FileChange_FILE_CHANGE_GONE},
		},
		Rescan: []*apiv1.FilePath{{Share: "share0", Path: "app"}},
	}
	eventually(t, "the replay", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return len(rec.events) == 2 && len(rec.rescan) == 1
	})
	rec.mu.Lock()
	if rec.events[0].Path != "/home/u/app/main.go" || rec.events[1].Path != "/home/u/app/old" || rec.events[1].Change != apiv1.FileChange_FILE_CHANGE_GONE || rec.rescan[0] != "/home/u/app" {
		t.Fatalf("replayed %+v, rescan %v", rec.events, rec.rescan)
	}
	rec.mu.Unlock()

	// New binds replace the roots on the same stream.
	c.SetBinds([]string{"/home/u/src/web"})
	eventually(t, "the new roots", func() bool {
		r, _ := h.lastRoots()
		return len(r) == 1 && r[0].GetShare() == "share1" && r[0].GetPath() == "web"
	})
	// A stream that fails is watched again, with the roots in force.
	_, before := h.lastRoots()
	h.fail <- struct{}{}
	eventually(t, "the stream again", func() bool {
		r, n := h.lastRoots()
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.streams == 2 && n > before && len(r) == 1 && r[0].GetPath() == "web"
	})
}

package relay

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
	"google.golang.org/grpc"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/api/wire"
	"github.com/skiffrun/skiff/host/agentclient"
)

// fakeSystem is the agent's System service, recording calls.
type fakeSystem struct {
	apiv1.UnimplementedSystemServer
	mu    sync.Mutex
	times []int64
}

func (f *fakeSystem) Version(context.Context, *apiv1.Empty) (*apiv1.VersionResponse, error) {
	return &apiv1.VersionResponse{Version: "fake", KernelVersion: "6.1.0-fake"}, nil
}

func (f *fakeSystem) SetTime(_ context.Context, r *apiv1.SetTimeRequest) (*apiv1.SetTimeResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.times = append(f.times, r.GetUnixNano())
	return &apiv1.SetTimeResponse{PreviousUnixNano: 42}, nil
}

// fakeAgent is the guest's end of the channel: it discards noise until
// the hello, answers, and serves gRPC on a yamux server session.
func fakeAgent(t *testing.T, conn net.Conn, sys *fakeSystem) {
	t.Helper()
	r := bufio.NewReader(conn)
	if err := wire.ReadHello(context.Background(), r, nil); err != nil {
		return
	}
	if _, err := conn.Write([]byte("boot noise\n" + wire.OK)); err != nil {
		return
	}
	sess, err := yamux.Server(struct {
		io.Reader
		io.WriteCloser
	}{wire.SkipHellos(r), conn}, nil)
	if err != nil {
		t.Error(err)
		return
	}
	srv := grpc.NewServer()
	apiv1.RegisterSystemServer(srv, sys)
	go srv.Serve(sess)
	t.Cleanup(srv.Stop)
}

func TestHandshakeSkipsNoise(t *testing.T) {
	host, guest := net.Pipe()
	defer host.Close()
	go func() {
		buf := make([]byte, len(wire.Hello))
		io.ReadFull(guest, buf)
		guest.Write([]byte("old session bytes\x00\x01SKIFFo"))
		guest.Write([]byte(wire.OK))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := Handshake(ctx, host); err != nil {
		t.Fatal(err)
	}
}

func TestHandshakeEndsWithCtx(t *testing.T) {
	host, guest := net.Pipe()
	defer host.Close()
	defer guest.Close()
	go io.Copy(io.Discard, guest) // an agent that never answers
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := Handshake(ctx, host); err == nil {
		t.Fatal("handshake with a silent agent succeeded")
	}
}

func TestRelayCarriesGRPC(t *testing.T) {
	sys := &fakeSystem{}
	rel := New()
	dir, err := os.MkdirTemp("", "rel")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "skiff.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go rel.Serve(l, 5*time.Second)

	c, err := agentclient.New(sock, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// A call made before the agent is connected waits for it.
	connect := func() *yamux.Session {
		host, guest := net.Pipe()
		go fakeAgent(t, guest, sys)
		s, err := Connect(ctx, host, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		rel.SetSession(s)
		return s
	}
	done := make(chan error, 1)
	go func() {
		v, err := c.System.Version(ctx, &apiv1.Empty{})
		if err == nil && v.GetKernelVersion() != "6.1.0-fake" {
			t.Errorf("version = %v", v)
		}
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	s := connect()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// The channel drops; a new session takes over, and the CLI's client
	// carries on over a new connection.
	s.Close()
	connect()
	// A call already under way on the old session fails with it, as
	// any call does when its connection drops; the next one goes
	// through the new session.
	for {
		_, err := c.System.SetTime(ctx, &apiv1.SetTimeRequest{UnixNano: 7})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	sys.mu.Lock()
	defer sys.mu.Unlock()
	if len(sys.times) != 1 || sys.times[0] != 7 {
		t.Errorf("SetTime calls = %v", sys.times)
	}
}

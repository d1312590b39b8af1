package hostsvc

import (
	"context"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/skiffrun/skiff/guest/api/wire"
)

// session starts a yamux session like the daemon's with the agent, serves
// reg on the host's end, and returns the agent's end.
func session(t *testing.T, reg *Registry) (agent *yamux.Session, served <-chan struct{}) {
	t.Helper()
	hc, ac := net.Pipe()
	host, err := yamux.Client(hc, nil)
	if err != nil {
		t.Fatal(err)
	}
	agent, err = yamux.Server(ac, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { reg.Serve(host); close(done) }()
	t.Cleanup(func() { agent.Close(); host.Close(); <-done })
	return agent, done
}

// open opens a stream from the agent's end to service.
func open(t *testing.T, agent *yamux.Session, service string) net.Conn {
	t.Helper()
	c, err := agent.Open()
	if err != nil {
		t.Fatal(err)
	}
	if err := wire.WriteService(c, service); err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func TestGRPCServicePerSession(t *testing.T) {
	reg := New()
	var sessions, closed atomic.Int32
	reg.RegisterGRPC(func(s *Session, r grpc.ServiceRegistrar) {
		sessions.Add(1)
		s.OnClose(func() { closed.Add(1) })
		healthpb.RegisterHealthServer(r, health.NewServer())
	})
	agent, served := session(t, reg)
	cc, err := grpc.NewClient("passthrough:///host",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) {
			return open(t, agent, wire.ServiceGRPC), nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("a gRPC call to the host's service: %v, %v", resp, err)
	}
	if sessions.Load() != 1 {
		t.Fatalf("the service was registered %d times for one session", sessions.Load())
	}
	agent.Close()
	select {
	case <-served:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return when the session ended")
	}
	if closed.Load() != 1 {
		t.Fatal("the session's OnClose did not run by the time Serve returned")
	}
}

func TestRawServiceByName(t *testing.T) {
	reg := New()
	l, err := reg.Listen("echo")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := reg.Listen("echo"); err == nil {
		t.Fatal("a second listener took the same service")
	}
	if _, err := reg.Listen(wire.ServiceGRPC); err == nil {
		t.Fatal("a raw listener took the gRPC server's name")
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
	// The listener outlives a session: a stream of the next one reaches
	// it too.
	for range 2 {
		agent, _ := session(t, reg)
		c := open(t, agent, "echo")
		if _, err := c.Write([]byte("raw bytes")); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len("raw bytes"))
		if _, err := io.ReadFull(c, got); err != nil || string(got) != "raw bytes" {
			t.Fatalf("echo through the raw service: %q, %v", got, err)
		}
		agent.Close()
	}
}

func TestUnknownServiceIsClosed(t *testing.T) {
	agent, _ := session(t, New())
	for _, c := range []net.Conn{open(t, agent, "nothing"), func() net.Conn {
		c, err := agent.Open()
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write([]byte("PRI * HTTP/2.0\r\n\r\n"))
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		return c
	}()} {
		if n, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatalf("a stream to no service stayed open (read %d bytes)", n)
		}
	}
}

func TestNextSessionWaitsForThePrevious(t *testing.T) {
	reg := New()
	release := make(chan struct{})
	var order []string
	var orderMu = make(chan struct{}, 1)
	note := func(s string) { orderMu <- struct{}{}; order = append(order, s); <-orderMu }
	first := true
	started := make(chan struct{})
	reg.RegisterGRPC(func(s *Session, _ grpc.ServiceRegistrar) {
		if first {
			first = false
			note("start 1")
			s.OnClose(func() { <-release; note("end 1") })
			close(started)
			return
		}
		note("start 2")
	})
	agent1, _ := session(t, reg)
	<-started
	agent1.Close()
	agent2, _ := session(t, reg)
	defer agent2.Close()
	time.Sleep(50 * time.Millisecond)
	close(release)
	deadline := time.Now().Add(10 * time.Second)
	for {
		orderMu <- struct{}{}
		n := len(order)
		got := append([]string(nil), order...)
		<-orderMu
		if n == 3 {
			if got[1] != "end 1" || got[2] != "start 2" {
				t.Fatalf("sessions' services ran %v: the second started before the first let go", got)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %v ran", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

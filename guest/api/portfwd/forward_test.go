package portfwd

import (
	"bufio"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/skiffrun/skiff/guest/api/wire"
)

// agentStream starts a yamux session like the host daemon's with the
// agent and returns the host's opener of streams on it; the agent's end
// serves each stream as its session listener serves one that begins
// with a forward header.
func agentStream(t *testing.T) func() (net.Conn, error) {
	t.Helper()
	hc, ac := net.Pipe()
	host, err := yamux.Client(hc, nil)
	if err != nil {
		t.Fatal(err)
	}
	agent, err := yamux.Server(ac, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close(); agent.Close() })
	go func() {
		for {
			c, err := agent.Accept()
			if err != nil {
				return
			}
			go func() {
				br := bufio.NewReader(c)
				if fwd, err := wire.PeekForward(br); err != nil || !fwd {
					c.Close()
					return
				}
				_ = ServeForward(Replay(c, br))
			}()
		}
	}()
	return func() (net.Conn, error) {
		s, err := host.Open()
		if err == nil {
			_ = s.SetDeadline(time.Now().Add(10 * time.Second))
		}
		return s, err
	}
}

func TestForwardTCP(t *testing.T) {
	s, err := DialForward(agentStream(t), wire.Forward{Proto: "tcp", Target: echoTCP(t)})
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("through the forward stream")
	if _, err := s.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(s, got); err != nil || string(got) != string(msg) {
		t.Fatalf("echo through ServeForward: %q, %v", got, err)
	}
}

func TestForwardUDP(t *testing.T) {
	s, err := DialForward(agentStream(t), wire.Forward{Proto: "udp", Target: echoUDP(t)})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	for _, m := range []string{"a", "bb"} {
		if _, err := s.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
		n, err := s.Read(buf)
		if err != nil || string(buf[:n]) != "echo:"+m {
			t.Fatalf("datagram %q came back as %q, %v", m, buf[:n], err)
		}
	}
}

// TestForwardedPort runs both ends: a published port on loopback whose
// dial is the host daemon's, carried to the agent's end.
func TestForwardedPort(t *testing.T) {
	target, open := echoTCP(t), agentStream(t)
	l, err := ListenTCP("127.0.0.1:0", func(context.Context) (net.Conn, error) {
		return DialForward(open, wire.Forward{Proto: "tcp", Target: target})
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	c, err := net.Dial("tcp", loopback(l.Port()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	go func() { _, _ = c.Write([]byte("hello")); _ = c.(*net.TCPConn).CloseWrite() }()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "hello" {
		t.Fatalf("through the port and the stream: %q, %v", got, err)
	}
}

func TestServeForwardRefusesABadHeader(t *testing.T) {
	s, _ := agentStream(t)()
	if _, err := s.Write([]byte(wire.ForwardMagic + "x\x00\x0510:80")); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Read(make([]byte, 1)); err == nil {
		t.Fatalf("a stream with an unknown protocol stayed open (read %d bytes)", n)
	}
}

func TestReplay(t *testing.T) {
	host, agent := net.Pipe()
	defer host.Close()
	preface := "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	go func() { _, _ = host.Write([]byte(preface)) }()
	br := bufio.NewReader(agent)
	if fwd, err := wire.PeekForward(br); err != nil || fwd {
		t.Fatalf("PeekForward of an HTTP/2 preface = %v, %v; want a plain stream", fwd, err)
	}
	got := make([]byte, len(preface))
	if _, err := io.ReadFull(Replay(agent, br), got); err != nil || string(got) != preface {
		t.Fatalf("replayed %q, %v; want the preface intact", got, err)
	}
}

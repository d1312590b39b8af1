package publish

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/skiffrun/skiff/guest/api/wire"
)

// serveStream runs the agent's side of one stream, as the session
// listener does, and returns the host daemon's side.
func serveStream(t *testing.T) net.Conn {
	t.Helper()
	host, agent := net.Pipe()
	go func() {
		br := bufio.NewReader(agent)
		if fwd, err := wire.PeekForward(br); err != nil || !fwd {
			agent.Close()
			return
		}
		_ = ServeForward(Replay(agent, br))
	}()
	t.Cleanup(func() { host.Close() })
	_ = host.SetDeadline(time.Now().Add(10 * time.Second))
	return host
}

func TestServeForwardTCP(t *testing.T) {
	port := echoTCP(t)
	s := serveStream(t)
	if err := wire.WriteForward(s, wire.Forward{Proto: "tcp", Target: "127.0.0.1:" + strconv.Itoa(int(port))}); err != nil {
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

func TestServeForwardUDP(t *testing.T) {
	port := echoUDP(t)
	s := serveStream(t)
	if err := wire.WriteForward(s, wire.Forward{Proto: "udp", Target: "127.0.0.1:" + strconv.Itoa(int(port))}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	for _, m := range []string{"a", "bb"} {
		if err := wire.WriteDatagram(s, []byte(m)); err != nil {
			t.Fatal(err)
		}
		n, err := wire.ReadDatagram(s, buf)
		if err != nil || string(buf[:n]) != "echo:"+m {
			t.Fatalf("datagram %q came back as %q, %v", m, buf[:n], err)
		}
	}
}

func TestServeForwardRefusesABadHeader(t *testing.T) {
	s := serveStream(t)
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

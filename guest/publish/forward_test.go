package publish

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"testing"
	"time"
)

// header is what the host daemon writes at the start of a stream.
func header(proto byte, target string) []byte {
	h := append([]byte(ForwardMagic), proto, 0, 0)
	binary.BigEndian.PutUint16(h[len(ForwardMagic)+1:], uint16(len(target)))
	return append(h, target...)
}

// serveStream runs the agent's side of one stream, as the session
// listener does.
func serveStream(t *testing.T) net.Conn {
	t.Helper()
	host, agent := net.Pipe()
	go func() {
		fwd, r, err := Peek(agent)
		if err != nil || !fwd {
			agent.Close()
			return
		}
		_ = ServeForward(agent, r)
	}()
	t.Cleanup(func() { host.Close() })
	_ = host.SetDeadline(time.Now().Add(10 * time.Second))
	return host
}

func TestServeForwardTCP(t *testing.T) {
	port := echoTCP(t)
	s := serveStream(t)
	msg := []byte("through the forward stream")
	if _, err := s.Write(append(header('t', "127.0.0.1:"+strconv.Itoa(int(port))), msg...)); err != nil {
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
	if _, err := s.Write(header('u', "127.0.0.1:"+strconv.Itoa(int(port)))); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	for _, m := range []string{"a", "bb"} {
		if err := WriteDatagram(s, []byte(m)); err != nil {
			t.Fatal(err)
		}
		n, err := ReadDatagram(s, buf)
		if err != nil || string(buf[:n]) != "echo:"+m {
			t.Fatalf("datagram %q came back as %q, %v", m, buf[:n], err)
		}
	}
}

func TestPeekLeavesGRPCAlone(t *testing.T) {
	host, agent := net.Pipe()
	defer host.Close()
	preface := "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	go func() { _, _ = host.Write([]byte(preface)) }()
	fwd, r, err := Peek(agent)
	if err != nil || fwd {
		t.Fatalf("Peek of an HTTP/2 preface = %v, %v; want a plain stream", fwd, err)
	}
	got := make([]byte, len(preface))
	if _, err := io.ReadFull(Replay(agent, r), got); err != nil || string(got) != preface {
		t.Fatalf("replayed %q, %v; want the preface intact", got, err)
	}
}

// FuzzReadHeader checks that any bytes after the magic either fail or
// give a protocol the proxy knows and a host:port target.
func FuzzReadHeader(f *testing.F) {
	f.Add(header('t', "10.1.0.2:80")[len(ForwardMagic):])
	f.Add(header('u', "[fd00::2]:53")[len(ForwardMagic):])
	f.Add([]byte{'t', 0, 0})
	f.Add([]byte{'x', 0, 3, '1', ':', '2'})
	f.Add([]byte{'t', 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		proto, target, err := readHeader(bytes.NewReader(b))
		if err != nil {
			return
		}
		if proto != 't' && proto != 'u' {
			t.Fatalf("protocol %q accepted", proto)
		}
		if _, _, err := net.SplitHostPort(target); err != nil || len(target) > maxTarget {
			t.Fatalf("target %q accepted", target)
		}
	})
}

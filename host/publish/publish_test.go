package publish

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/hashicorp/yamux"

	"github.com/skiffrun/skiff/guest/api/portfwd"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/api/wire"
)

// agentSession starts a yamux session as the host daemon has with the
// agent, whose end serves forward streams with the agent's own code
// (portfwd.ServeForward), and returns the host's end and a count of the
// streams the agent was sent.
func agentSession(t *testing.T) (*yamux.Session, *atomic.Int32) {
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
	var streams atomic.Int32
	go func() {
		for {
			c, err := agent.Accept()
			if err != nil {
				return
			}
			streams.Add(1)
			go func() {
				br := bufio.NewReader(c)
				if fwd, err := wire.PeekForward(br); err != nil || !fwd {
					c.Close()
					return
				}
				_ = portfwd.ServeForward(portfwd.Replay(c, br))
			}()
		}
	}()
	return host, &streams
}

// echoTCP serves an echo on a free loopback port, standing for a
// container, and returns the port.
func echoTCP(t *testing.T) uint32 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
	return uint32(ln.Addr().(*net.TCPAddr).Port)
}

// echoUDP answers each datagram with "echo:" and the datagram.
func echoUDP(t *testing.T) uint32 {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(append([]byte("echo:"), buf[:n]...), from)
		}
	}()
	return uint32(pc.LocalAddr().(*net.UDPAddr).Port)
}

func TestForwarder(t *testing.T) {
	sess, streams := agentSession(t)
	f := New(sess.Open)
	defer f.Close()
	bound, err := f.Publish("c1", "127.0.0.1", []*apiv1.PortBinding{
		{HostIp: "127.0.0.1", ContainerPort: echoTCP(t), Protocol: "tcp"},
		{HostIp: "127.0.0.1", ContainerPort: echoUDP(t), Protocol: "udp"},
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(bound[0].HostPort)))
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	go func() { _, _ = c.Write([]byte("hello")); _ = c.(*net.TCPConn).CloseWrite() }()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "hello" {
		t.Fatalf("TCP through the forwarder: %q, %v", got, err)
	}
	c.Close()

	u, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(int(bound[1].HostPort)))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	_ = u.SetDeadline(time.Now().Add(5 * time.Second))
	for _, m := range []string{"q1", "q2"} {
		if _, err := u.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		n, err := u.Read(buf)
		if err != nil || string(buf[:n]) != "echo:"+m {
			t.Fatalf("UDP through the forwarder: %q, %v", buf[:n], err)
		}
	}
	// One TCP connection, and one UDP client's flow: two streams.
	if n := streams.Load(); n != 2 {
		t.Fatalf("%d streams into the machine, want 2 (one per TCP connection, one per UDP client)", n)
	}

	taken := []*apiv1.PortBinding{{HostIp: "127.0.0.1", HostPort: bound[0].HostPort, ContainerPort: 80, Protocol: "tcp"}}
	if err := f.Check(taken); !errdefs.IsConflict(err) {
		t.Fatalf("Check of a published port = %v, want a conflict", err)
	}
	if _, err := f.Publish("c2", "127.0.0.1", taken); !errdefs.IsConflict(err) {
		t.Fatalf("publishing a port in use = %v, want a conflict", err)
	}
	f.Unpublish("c1")
	if err := f.Check(taken); err != nil {
		t.Fatalf("port still taken after Unpublish: %v", err)
	}
}

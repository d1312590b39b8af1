package roundtrip

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/hashicorp/yamux"

	"github.com/skiffrun/skiff/guest/api/portfwd"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/api/wire"
	"github.com/skiffrun/skiff/guest/hostlink"
	"github.com/skiffrun/skiff/guest/publish"
	"github.com/skiffrun/skiff/host/hostsvc"
	hostpublish "github.com/skiffrun/skiff/host/publish"
)

// machine is both ends of a machine's published ports: the host daemon's
// service registry, and the agent's link and publisher.
type machine struct {
	reg  *hostsvc.Registry
	link *hostlink.Link
	pub  *publish.Host
}

func newMachine() *machine {
	m := &machine{reg: hostsvc.New(), link: hostlink.New(), pub: publish.NewHost(slog.New(slog.DiscardHandler))}
	hostpublish.Register(m.reg)
	m.link.OnSession(m.pub.Connect)
	return m
}

// connect starts a session, as host/machine and guest/machine do, and
// returns a function that ends it and waits for the host's services to
// let go.
func (m *machine) connect(t *testing.T) (end func()) {
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
	served := make(chan struct{})
	go func() { m.reg.Serve(host); close(served) }()
	// The agent's session listener: forward streams go to portfwd (no
	// gRPC is served on the agent's end in these tests).
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
				_ = portfwd.ServeForward(portfwd.Replay(c, br))
			}()
		}
	}()
	ctx, down := context.WithCancel(context.Background())
	m.link.Up(ctx, agent)
	end = func() {
		down()
		agent.Close()
		host.Close()
		<-served
	}
	t.Cleanup(end)
	return end
}

// waitConnected waits until the agent's publisher reaches the daemon:
// until it finds taken, a port held here, in use.
func (m *machine) waitConnected(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := []*apiv1.PortBinding{{HostIp: "127.0.0.1", HostPort: uint32(ln.Addr().(*net.TCPAddr).Port), ContainerPort: 80, Protocol: "tcp"}}
	deadline := time.Now().Add(10 * time.Second)
	for m.pub.CheckPorts(taken) == nil {
		if time.Now().After(deadline) {
			t.Fatal("the agent's publisher never reached the host daemon")
		}
		time.Sleep(5 * time.Millisecond)
	}
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

func tcpEcho(t *testing.T, port uint32, msg string) {
	t.Helper()
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(port)))
	if err != nil {
		t.Fatalf("connect to the published port: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	go func() { _, _ = c.Write([]byte(msg)); _ = c.(*net.TCPConn).CloseWrite() }()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != msg {
		t.Fatalf("TCP through the published port: %q, %v; want %q", got, err, msg)
	}
}

func udpEcho(t *testing.T, port uint32, msg string) {
	t.Helper()
	u, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(int(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	_ = u.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := u.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := u.Read(buf)
	if err != nil || string(buf[:n]) != "echo:"+msg {
		t.Fatalf("UDP through the published port: %q, %v", buf[:n], err)
	}
}

var loopback = netip.MustParseAddr("127.0.0.1")

func TestPublishThroughTheHostDaemon(t *testing.T) {
	m := newMachine()
	m.connect(t)
	m.waitConnected(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bound, err := m.pub.Publish(ctx, "c1", loopback, "", []*apiv1.PortBinding{
		{HostIp: "127.0.0.1", ContainerPort: echoTCP(t), Protocol: "tcp"},
		{HostIp: "127.0.0.1", ContainerPort: echoUDP(t), Protocol: "udp"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if bound[0].HostPort == 0 || bound[1].HostPort == 0 {
		t.Fatalf("the daemon chose no host ports: %v", bound)
	}
	if got := m.pub.BoundPorts("c1"); got[0].HostPort != bound[0].HostPort {
		t.Fatalf("BoundPorts = %v, want %v", got, bound)
	}
	tcpEcho(t, bound[0].HostPort, "hello")
	udpEcho(t, bound[1].HostPort, "q")

	// A port in use comes back from the host as a conflict, with the
	// host's explanation.
	taken := []*apiv1.PortBinding{{HostIp: "127.0.0.1", HostPort: bound[0].HostPort, ContainerPort: 81, Protocol: "tcp"}}
	if err := m.pub.CheckPorts(taken); !errdefs.IsConflict(err) {
		t.Fatalf("CheckPorts of a published port = %v, want a conflict", err)
	}
	_, err = m.pub.Publish(ctx, "c2", loopback, "", taken)
	if !errdefs.IsConflict(err) || !strings.Contains(err.Error(), strconv.Itoa(int(bound[0].HostPort))) || !strings.Contains(err.Error(), "-p OTHER:81") {
		t.Fatalf("publishing a port in use = %v, want a conflict naming the port and the fix", err)
	}
	if m.pub.BoundPorts("c2") != nil {
		t.Fatal("a failed publication is still remembered")
	}

	// Unpublish frees the port by the time it returns.
	m.pub.Unpublish("c1")
	if err := portfwd.Check(taken); err != nil {
		t.Fatalf("port still taken on the host after Unpublish: %v", err)
	}
}

func TestBadRequestsAreInvalidArguments(t *testing.T) {
	m := newMachine()
	m.connect(t)
	m.waitConnected(t)
	_, err := m.pub.Publish(context.Background(), "c1", loopback, "", []*apiv1.PortBinding{{ContainerPort: 80, Protocol: "sctp"}})
	if !errdefs.IsInvalidArgument(err) {
		t.Fatalf("publishing an sctp port = %v, want an invalid argument", err)
	}
	_, err = m.pub.Publish(context.Background(), "c1", netip.Addr{}, "", []*apiv1.PortBinding{{ContainerPort: 80, Protocol: "tcp"}})
	if !errdefs.IsInvalidArgument(err) {
		t.Fatalf("publishing to no target = %v, want an invalid argument", err)
	}
}

func TestPortsComeBackWithTheNextSession(t *testing.T) {
	m := newMachine()
	// Published before any daemon is connected (a container restarted
	// at boot): remembered, and bound when one connects.
	ports := []*apiv1.PortBinding{{HostIp: "127.0.0.1", ContainerPort: echoTCP(t), Protocol: "tcp"}}
	if _, err := m.pub.Publish(context.Background(), "c1", loopback, "", ports); err != nil {
		t.Fatalf("publishing with no daemon: %v", err)
	}
	end := m.connect(t)
	port := waitBound(t, m, "c1", 0)
	tcpEcho(t, port, "first session")

	// The session ends: the daemon closes the port; the next session
	// binds it again.
	end()
	if err := portfwd.Check([]*apiv1.PortBinding{{HostIp: "127.0.0.1", HostPort: port, ContainerPort: 80, Protocol: "tcp"}}); err != nil {
		t.Fatalf("the port outlived its session: %v", err)
	}
	m.connect(t)
	// The port may come back as the same number: wait for one that
	// answers.
	deadline := time.Now().Add(10 * time.Second)
	for {
		port = waitBound(t, m, "c1", 0)
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(port))); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the ports were not published again on the next session")
		}
		time.Sleep(5 * time.Millisecond)
	}
	tcpEcho(t, port, "second session")
}

// waitBound waits until id's first port is bound on the host on a port
// other than old, and returns it.
func waitBound(t *testing.T, m *machine, id string, old uint32) uint32 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b := m.pub.BoundPorts(id); len(b) > 0 && b[0].HostPort != 0 && b[0].HostPort != old {
			return b[0].HostPort
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's ports were not published again: %v", id, m.pub.BoundPorts(id))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

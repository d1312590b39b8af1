package portfwd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// echoTCP serves an echo on a free loopback port and returns its address.
func echoTCP(t *testing.T) string {
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
	return ln.Addr().String()
}

// echoUDP answers each datagram with "echo:" and the datagram, and
// returns its address.
func echoUDP(t *testing.T) string {
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
	return pc.LocalAddr().String()
}

// dialTo is a DialFunc that dials addr, counting its dials on dials.
func dialTo(network, addr string, dials chan<- struct{}) DialFunc {
	return func(ctx context.Context) (net.Conn, error) {
		if dials != nil {
			dials <- struct{}{}
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}

func loopback(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

func TestListenTCPEchoes(t *testing.T) {
	l, err := ListenTCP("127.0.0.1:0", dialTo("tcp", echoTCP(t), nil), nil)
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
	msg := bytes.Repeat([]byte("skiff"), 100000)
	go func() { _, _ = c.Write(msg); _ = c.(*net.TCPConn).CloseWrite() }()
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("TCP echo through the port: %d bytes, %v; want %d, and the half-close passed on", len(got), err, len(msg))
	}
}

func TestListenUDPEchoesOneFlowPerClient(t *testing.T) {
	dials := make(chan struct{}, 4)
	l, err := ListenUDP("127.0.0.1:0", dialTo("udp", echoUDP(t), dials), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	u, err := net.Dial("udp", loopback(l.Port()))
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
			t.Fatalf("UDP echo through the port: %q, %v", buf[:n], err)
		}
	}
	if len(dials) != 1 {
		t.Fatalf("%d flows for one client, want 1", len(dials))
	}
}

func TestListenUDPIdleFlowExpires(t *testing.T) {
	dials := make(chan struct{}, 4)
	l, err := ListenUDP("127.0.0.1:0", dialTo("udp", echoUDP(t), dials), 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	u, err := net.Dial("udp", loopback(l.Port()))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	_ = u.SetDeadline(time.Now().Add(5 * time.Second))
	ping := func() {
		t.Helper()
		if _, err := u.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if _, err := u.Read(make([]byte, 64)); err != nil {
			t.Fatal(err)
		}
	}
	ping()
	// A flow kept busy stays one flow past its idle time.
	for range 5 {
		time.Sleep(40 * time.Millisecond)
		ping()
	}
	if len(dials) != 1 {
		t.Fatalf("a busy flow was dialled %d times, want once", len(dials))
	}
	time.Sleep(300 * time.Millisecond)
	ping()
	if len(dials) != 2 {
		t.Fatalf("after the idle time the next datagram made %d flows in all, want a new one (2)", len(dials))
	}
}

func TestCloseFreesThePortAndItsConnections(t *testing.T) {
	l, err := ListenTCP("127.0.0.1:0", dialTo("tcp", echoTCP(t), nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", loopback(l.Port()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l.Close() // twice is fine
	if n, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatalf("a connection outlived its port (read %d bytes)", n)
	}
	again, err := ListenTCP(loopback(l.Port()), dialTo("tcp", echoTCP(t), nil), nil)
	if err != nil {
		t.Fatalf("the port is not free after Close: %v", err)
	}
	again.Close()
}

func TestPortsInUseIsAConflict(t *testing.T) {
	var p Ports
	t.Cleanup(p.Close)
	dial := func(ctx context.Context, b *apiv1.PortBinding) (net.Conn, error) {
		return dialTo(b.Protocol, echoTCP(t), nil)(ctx)
	}
	bound, err := p.Publish("c1", []*apiv1.PortBinding{{HostIp: "127.0.0.1", ContainerPort: 80, Protocol: "tcp"}}, dial)
	if err != nil {
		t.Fatal(err)
	}
	if bound[0].HostPort == 0 {
		t.Fatalf("no host port chosen: %v", bound)
	}
	taken := []*apiv1.PortBinding{{HostIp: "127.0.0.1", HostPort: bound[0].HostPort, ContainerPort: 81, Protocol: "tcp"}}
	if err := p.Check(taken); !errdefs.IsConflict(err) {
		t.Fatalf("Check of a published port = %v, want a conflict", err)
	}
	_, err = p.Publish("c2", taken, dial)
	if !errdefs.IsConflict(err) {
		t.Fatalf("publishing a port in use = %v, want a conflict", err)
	}
	if want := "-p OTHER:81"; !bytes.Contains([]byte(err.Error()), []byte(want)) {
		t.Fatalf("the error %q does not say what to do (%s)", err, want)
	}
	p.Unpublish("c1")
	if err := p.Check(taken); err != nil {
		t.Fatalf("port still taken after Unpublish: %v", err)
	}
}

func TestPortsRefuseABadBinding(t *testing.T) {
	var p Ports
	for _, b := range []*apiv1.PortBinding{
		{ContainerPort: 80, Protocol: "sctp"},
		{ContainerPort: 0, Protocol: "tcp"},
		{ContainerPort: 80, HostPort: 70000, Protocol: "tcp"},
		{HostIp: "localhost", ContainerPort: 80, Protocol: "tcp"},
	} {
		_, err := p.Publish("c", []*apiv1.PortBinding{b}, nil)
		if !errdefs.IsInvalidArgument(err) {
			t.Errorf("Publish(%v) = %v, want an invalid argument", b, err)
		}
	}
}

func TestHostAddrDefault(t *testing.T) {
	if got := HostAddr(&apiv1.PortBinding{HostPort: 8080}); got != DefaultHostIP+":8080" {
		t.Fatalf("HostAddr with no address = %q", got)
	}
	if got := HostAddr(&apiv1.PortBinding{HostIp: "::1", HostPort: 8080}); got != "[::1]:8080" {
		t.Fatalf("HostAddr of ::1 = %q", got)
	}
	if !errors.Is(Validate(&apiv1.PortBinding{ContainerPort: 1, Protocol: "udp"}), nil) {
		t.Fatal("a plain binding is refused")
	}
}

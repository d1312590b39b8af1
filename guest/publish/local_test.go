package publish

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// echoTCP serves an echo on a free loopback port and returns the port.
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

func TestLocalTCPAndUDP(t *testing.T) {
	l := NewLocal(nil)
	t.Cleanup(func() { l.Unpublish("c1") })
	target := netip.MustParseAddr("127.0.0.1")
	bound, err := l.Publish(context.Background(), "c1", target, "", []*apiv1.PortBinding{
		{HostIp: "127.0.0.1", ContainerPort: echoTCP(t), Protocol: "tcp"},
		{HostIp: "127.0.0.1", ContainerPort: echoUDP(t), Protocol: "udp"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if bound[0].HostPort == 0 || bound[1].HostPort == 0 {
		t.Fatalf("no host port chosen: %v", bound)
	}

	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(bound[0].HostPort)))
	if err != nil {
		t.Fatal(err)
	}
	msg := bytes.Repeat([]byte("skiff"), 100000)
	go func() { _, _ = c.Write(msg); _ = c.(*net.TCPConn).CloseWrite() }()
	got, err := io.ReadAll(c)
	c.Close()
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("TCP echo through the published port: %d bytes, %v; want %d", len(got), err, len(msg))
	}

	u, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(int(bound[1].HostPort)))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	_ = u.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := u.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := u.Read(buf)
	if err != nil || string(buf[:n]) != "echo:ping" {
		t.Fatalf("UDP echo through the published port: %q, %v", buf[:n], err)
	}

	// The port is taken while published, and free once unpublished.
	taken := []*apiv1.PortBinding{{HostIp: "127.0.0.1", HostPort: bound[0].HostPort, ContainerPort: 1, Protocol: "tcp"}}
	if err := l.CheckPorts(taken); err == nil {
		t.Fatal("CheckPorts found a published port free")
	}
	if _, err := l.Publish(context.Background(), "c2", target, "", taken); err == nil {
		t.Fatal("publishing a port in use succeeded")
	}
	l.Unpublish("c1")
	if err := l.CheckPorts(taken); err != nil {
		t.Fatalf("port still taken after Unpublish: %v", err)
	}
}

package publish

import (
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/api/wire"
)

// fakeAgent stands for the agent's end of the session: it reads the
// forward header of each stream and records it, then echoes TCP bytes,
// or UDP datagrams prefixed with "echo:".
type fakeAgent struct{ headers chan string }

func (a *fakeAgent) open() (net.Conn, error) {
	host, agent := net.Pipe()
	go func() {
		defer agent.Close()
		f, err := wire.ReadForward(agent)
		if err != nil {
			return
		}
		a.headers <- f.Proto + " " + f.Target
		if f.Proto == "tcp" {
			_, _ = io.Copy(agent, agent)
			return
		}
		buf := make([]byte, wire.MaxDatagram)
		for {
			n, err := wire.ReadDatagram(agent, buf)
			if err != nil || wire.WriteDatagram(agent, append([]byte("echo:"), buf[:n]...)) != nil {
				return
			}
		}
	}()
	return host, nil
}

func TestForwarder(t *testing.T) {
	a := &fakeAgent{headers: make(chan string, 4)}
	f := New(a.open)
	defer f.Close()
	bound, err := f.Publish("c1", "10.1.0.2", []*apiv1.PortBinding{
		{HostIp: "127.0.0.1", ContainerPort: 80, Protocol: "tcp"},
		{HostIp: "127.0.0.1", ContainerPort: 53, Protocol: "udp"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tcpAddr := "127.0.0.1:" + strconv.Itoa(int(bound[0].HostPort))
	c, err := net.Dial("tcp", tcpAddr)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 5)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "hello" {
		t.Fatalf("TCP through the forwarder: %q, %v", got, err)
	}
	c.Close()
	if h := <-a.headers; h != "tcp 10.1.0.2:80" {
		t.Fatalf("TCP stream header %q, want tcp 10.1.0.2:80", h)
	}

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
	// One client address is one flow: one stream for both datagrams.
	if h := <-a.headers; h != "udp 10.1.0.2:53" {
		t.Fatalf("UDP stream header %q, want udp 10.1.0.2:53", h)
	}
	select {
	case h := <-a.headers:
		t.Fatalf("a second stream %q for the same UDP client", h)
	default:
	}

	taken := []*apiv1.PortBinding{{HostIp: "127.0.0.1", HostPort: bound[0].HostPort, ContainerPort: 80, Protocol: "tcp"}}
	if err := f.Check(taken); err == nil {
		t.Fatal("Check found a published port free")
	}
	if _, err := f.Publish("c2", "10.1.0.3", taken); err == nil {
		t.Fatal("publishing a port in use succeeded")
	}
	f.Unpublish("c1")
	if err := f.Check(taken); err != nil {
		t.Fatalf("port still taken after Unpublish: %v", err)
	}
}

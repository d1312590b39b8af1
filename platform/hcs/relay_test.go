package hcs

import (
	"bytes"
	"errors"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// relayed is RelayUserNetwork on a unix listener that stands in for the
// VM's hvsock, in front of a stack listening on the stream socket.
type relayed struct {
	vsock  string // where the guest dials
	stack  net.Listener
	l      net.Listener
	served chan error
}

func startRelay(t *testing.T) *relayed {
	t.Helper()
	dir := t.TempDir()
	r := &relayed{vsock: filepath.Join(dir, "vsock"), served: make(chan error, 1)}
	var err error
	if r.stack, err = net.Listen("unix", filepath.Join(dir, "net.sock")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.stack.Close() })
	if r.l, err = net.Listen("unix", r.vsock); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.l.Close() })
	go func() { r.served <- RelayUserNetwork(r.l, r.stack.Addr().String()) }()
	return r
}

// link dials as the guest and returns both ends: the guest's and the
// stack's.
func (r *relayed) link(t *testing.T) (guest, stack net.Conn) {
	t.Helper()
	guest, err := net.Dial("unix", r.vsock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { guest.Close() })
	if stack, err = r.stack.Accept(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stack.Close() })
	return guest, stack
}

// readAll reads n bytes from c, or fails the test after a while.
func readAll(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	return b
}

// wantEOF checks that c's peer has closed it.
func wantEOF(t *testing.T, c net.Conn, who string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("%s: read %d bytes, %v; want io.EOF", who, n, err)
	}
}

func TestRelayCarriesBytesBothWays(t *testing.T) {
	r := startRelay(t)
	guest, stack := r.link(t)
	// Neither end's writes line up with frames: the relay must not care.
	up := bytes.Repeat([]byte{0, 0, 0, 60, 1, 2, 3}, 40000)
	go func() { _, _ = guest.Write(up) }()
	if got := readAll(t, stack, len(up)); !bytes.Equal(got, up) {
		t.Error("the stack got other bytes than the guest sent")
	}
	down := bytes.Repeat([]byte{9, 8, 7, 0, 0, 5, 0xdc}, 30000)
	go func() { _, _ = stack.Write(down) }()
	if got := readAll(t, guest, len(down)); !bytes.Equal(got, down) {
		t.Error("the guest got other bytes than the stack sent")
	}
}

func TestRelayClosesBothEnds(t *testing.T) {
	r := startRelay(t)
	guest, stack := r.link(t)
	guest.Close()
	wantEOF(t, stack, "the guest closed: the stack")

	// The guest dials again, as it does when a link drops: a new link
	// to the stack, which this time is the one to close.
	guest, stack = r.link(t)
	if _, err := guest.Write([]byte("again")); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, stack, 5); string(got) != "again" {
		t.Errorf("second link carried %q", got)
	}
	stack.Close()
	wantEOF(t, guest, "the stack closed: the guest")
}

func TestRelayWithoutTheStack(t *testing.T) {
	r := startRelay(t)
	r.stack.Close()
	guest, err := net.Dial("unix", r.vsock)
	if err != nil {
		t.Fatal(err)
	}
	defer guest.Close()
	wantEOF(t, guest, "no stack to dial: the guest")
	select {
	case err := <-r.served:
		t.Fatalf("RelayUserNetwork returned %v when a dial of the stack failed", err)
	default:
	}
}

func TestRelayEndsWithItsListener(t *testing.T) {
	r := startRelay(t)
	guest, stack := r.link(t)
	r.l.Close()
	select {
	case err := <-r.served:
		if err != nil {
			t.Errorf("RelayUserNetwork = %v after its listener closed, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RelayUserNetwork did not return when its listener closed")
	}
	wantEOF(t, guest, "listener closed: the guest")
	wantEOF(t, stack, "listener closed: the stack")
}

package qemu

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// vsockListener accepts the guest's vsock connections to a port on the
// host (CID 2), from one guest CID only.
type vsockListener struct {
	fd   int
	cid  uint32
	port uint32
	once sync.Once
}

func listenVsock(cid, port uint32) (net.Listener, error) {
	fd, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("vsock socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrVM{CID: unix.VMADDR_CID_ANY, Port: port}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind vsock port %d: %w", port, err)
	}
	if err := unix.Listen(fd, 4); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("listen on vsock port %d: %w", port, err)
	}
	return &vsockListener{fd: fd, cid: cid, port: port}, nil
}

func (l *vsockListener) Accept() (net.Conn, error) {
	for {
		nfd, sa, err := unix.Accept4(l.fd, unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("accept vsock: %w", err)
		}
		peer, ok := sa.(*unix.SockaddrVM)
		if !ok || peer.CID != l.cid {
			// Another guest on this host dialled our port.
			unix.Close(nfd)
			continue
		}
		f := os.NewFile(uintptr(nfd), fmt.Sprintf("vsock:%d:%d", peer.CID, peer.Port))
		return &vsockConn{File: f, local: vsockAddr{2, l.port}, remote: vsockAddr{peer.CID, peer.Port}}, nil
	}
}

func (l *vsockListener) Close() error {
	var err error
	l.once.Do(func() {
		// shutdown wakes a blocked accept; close alone does not.
		_ = unix.Shutdown(l.fd, unix.SHUT_RDWR)
		err = unix.Close(l.fd)
	})
	return err
}

func (l *vsockListener) Addr() net.Addr { return vsockAddr{2, l.port} }

type vsockAddr struct{ cid, port uint32 }

func (vsockAddr) Network() string  { return "vsock" }
func (a vsockAddr) String() string { return fmt.Sprintf("%d:%d", a.cid, a.port) }

// vsockConn is a net.Conn over a non-blocking vsock file, whose deadlines
// the runtime's poller honours.
type vsockConn struct {
	*os.File
	local, remote vsockAddr
}

func (c *vsockConn) LocalAddr() net.Addr  { return c.local }
func (c *vsockConn) RemoteAddr() net.Addr { return c.remote }

func (c *vsockConn) SetDeadline(t time.Time) error      { return c.File.SetDeadline(t) }
func (c *vsockConn) SetReadDeadline(t time.Time) error  { return c.File.SetReadDeadline(t) }
func (c *vsockConn) SetWriteDeadline(t time.Time) error { return c.File.SetWriteDeadline(t) }

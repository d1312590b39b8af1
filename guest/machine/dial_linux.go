package machine

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiffrun/skiff/guest/api/wire"
)

// hostCID is the vsock address of the host.
const hostCID = 2

// hostConn is a connection to the host: its reads return io.EOF while
// nobody is at the host end (a serial port) or for good (a socket).
type hostConn interface {
	net.Conn
	// idle is called when a read returned io.EOF during the handshake:
	// it waits and returns nil to read again, or an error to redial.
	idle(ctx context.Context) error
	// keepOpen reports whether the connection carries the next session
	// when one ends (a serial port), rather than being dialled again.
	keepOpen() bool
}

// dialHost opens the channel to the host, retrying until ctx ends.
func dialHost(ctx context.Context, t wire.Transport) (hostConn, error) {
	for delay := 20 * time.Millisecond; ; delay = min(2*delay, time.Second) {
		c, err := dialOnce(t)
		if err == nil {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("dial host over %s: %w", t, err)
		case <-time.After(delay):
		}
	}
}

func dialOnce(t wire.Transport) (hostConn, error) {
	switch t.Kind {
	case wire.TransportVsock:
		c, err := dialVsock(hostCID, t.Port)
		if err != nil {
			return nil, err
		}
		return socketConn{c}, nil
	case wire.TransportSerial:
		dev, err := findSerialPort(t.Name)
		if err != nil {
			return nil, err
		}
		f, err := os.OpenFile(dev, os.O_RDWR|unix.O_NOCTTY, 0)
		if err != nil {
			return nil, err
		}
		return &serialConn{fileConn: fileConn{f}}, nil
	}
	return nil, fmt.Errorf("unknown transport %q", t.Kind)
}

// findSerialPort finds the /dev node of the virtio-serial port named
// name; with no udev there is no /dev/virtio-ports/<name> link.
func findSerialPort(name string) (string, error) {
	names, _ := filepath.Glob("/sys/class/virtio-ports/*/name")
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil || strings.TrimSpace(string(b)) != name {
			continue
		}
		return "/dev/" + filepath.Base(filepath.Dir(n)), nil
	}
	return "", fmt.Errorf("no virtio-serial port named %q", name)
}

// dialVsock connects to a vsock port as a net.Conn.
func dialVsock(cid, port uint32) (net.Conn, error) {
	fd, err := vsockFD(cid, port)
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return fileConn{os.NewFile(uintptr(fd), fmt.Sprintf("vsock:%d:%d", cid, port))}, nil
}

// fileConn is a net.Conn over a file that the runtime's poller drives (a
// vsock socket, which net.FileConn does not know, or a serial port).
type fileConn struct{ *os.File }

func (fileConn) LocalAddr() net.Addr  { return hostAddr{} }
func (fileConn) RemoteAddr() net.Addr { return hostAddr{} }

type socketConn struct{ net.Conn }

func (socketConn) idle(context.Context) error { return io.EOF }
func (socketConn) keepOpen() bool             { return false }

// serialConn is a virtio-serial port: a read returns io.EOF until the
// host connects, then data; the port stays open across host sessions.
type serialConn struct {
	fileConn
}

func (*serialConn) keepOpen() bool { return true }

func (*serialConn) idle(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(50 * time.Millisecond):
		return nil
	}
}

var (
	_ hostConn = socketConn{}
	_ hostConn = (*serialConn)(nil)
)

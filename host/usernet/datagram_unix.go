//go:build !windows

package usernet

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"sync"
)

// listenDatagram binds the datagram socket a VM's file-handle network
// device sends its frames to, one per datagram.
func listenDatagram(path string) (*net.UnixConn, error) {
	_ = os.Remove(path)
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("user-mode network: listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("user-mode network: restrict %s: %w", path, err)
	}
	return c, nil
}

// acceptDatagrams exchanges frames with the VM whose end of the
// datagram link sends to the socket: its end is bound to a path of its
// own, learnt from each frame it sends.
func (s *Stack) acceptDatagrams(ctx context.Context) {
	c := &datagramConn{UnixConn: s.dgram}
	if err := s.vn.AcceptVfkit(ctx, c); err != nil && ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
		log.Printf("skiff: user-mode network: %v", err)
	}
}

// datagramConn is the listening datagram socket as one connection to
// the VM: frames are read from whoever sends them, and written to the
// last sender. Frames for a VM that has sent nothing yet are dropped, as
// on a wire nobody listens to.
type datagramConn struct {
	*net.UnixConn
	mu   sync.Mutex
	peer *net.UnixAddr
}

func (c *datagramConn) Read(b []byte) (int, error) {
	n, from, err := c.ReadFromUnix(b)
	if err == nil && from != nil && from.Name != "" {
		c.mu.Lock()
		c.peer = from
		c.mu.Unlock()
	}
	return n, err
}

func (c *datagramConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	peer := c.peer
	c.mu.Unlock()
	if peer == nil {
		return len(b), nil
	}
	return c.WriteToUnix(b, peer)
}

func (c *datagramConn) RemoteAddr() net.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.peer == nil {
		return &net.UnixAddr{Net: "unixgram"}
	}
	return c.peer
}

package usernet

import (
	"context"
	"errors"
	"fmt"
	"net"
)

// listenDatagram fails: Windows has no unix datagram sockets, and its
// driver (HCS) relays the guest's vsock connection onto the stream
// socket instead.
func listenDatagram(path string) (*net.UnixConn, error) {
	return nil, fmt.Errorf("user-mode network: datagram socket %s: %w", path, errors.ErrUnsupported)
}

func (s *Stack) acceptDatagrams(context.Context) {}

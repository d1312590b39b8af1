//go:build unix

package dockerapi

import (
	"context"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// hangupPoll is how often a half-closed unix connection is looked at for
// its peer's full close.
const hangupPoll = 200 * time.Millisecond

// waitHangup returns once the peer of a unix socket, which has already
// half-closed, closes the rest: poll then reports POLLHUP for the write
// side, which a half-close alone never sets (on Linux POLLHUP means both
// directions shut; on darwin it marks EV_EOF of the write filter asked
// for). It returns ctx's error when ctx ends first.
func waitHangup(ctx context.Context, conn net.Conn) error {
	if _, ok := conn.(*net.UnixConn); !ok {
		return errNoHangupNotice
	}
	rc, err := conn.(syscall.Conn).SyscallConn()
	if err != nil {
		return err
	}
	t := time.NewTicker(hangupPoll)
	defer t.Stop()
	for {
		var hup bool
		if err := rc.Control(func(fd uintptr) {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
			if n, err := unix.Poll(fds, 0); err == nil && n > 0 {
				hup = fds[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0
			}
		}); err != nil {
			// Closed by the handler: the attach is over anyway.
			return err
		}
		if hup {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

package machine

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/skiffrun/skiff/guest/api/wire"
)

// ninePPort is the vsock port Hyper-V's Plan 9 server listens on.
const ninePPort = 564

// mountShare mounts a host folder at its guest path.
func mountShare(s wire.Share) error {
	fd := -1
	if s.FSType == wire.FS9PVsock {
		var err error
		if fd, err = vsockFD(hostCID, ninePPort); err != nil {
			return err
		}
		// The kernel holds its own reference to the socket once mounted.
		defer unix.Close(fd)
	}
	m, err := mountFor(s, fd)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.Path, 0o755); err != nil {
		return err
	}
	var flags uintptr
	if m.readOnly {
		flags |= unix.MS_RDONLY
	}
	if err := unix.Mount(m.source, s.Path, m.fstype, flags, m.data); err != nil {
		return fmt.Errorf("mount %s %s on %s: %w", m.fstype, m.source, s.Path, err)
	}
	return nil
}

// vsockFD connects a blocking vsock socket.
func vsockFD(cid, port uint32) (int, error) {
	fd, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("vsock socket: %w", err)
	}
	if err := unix.Connect(fd, &unix.SockaddrVM{CID: cid, Port: port}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("vsock connect %d:%d: %w", cid, port, err)
	}
	return fd, nil
}

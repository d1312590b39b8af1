package qemu

import (
	"fmt"
	"net"
	"syscall"

	"github.com/skiffrun/skiff/platform"
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

// vhostVsock reports false: macOS has no vhost-vsock.
func vhostVsock() bool { return false }

func listenVsock(uint32, uint32) (net.Listener, error) {
	return nil, fmt.Errorf("vsock under QEMU: %w", platform.ErrNotSupported)
}

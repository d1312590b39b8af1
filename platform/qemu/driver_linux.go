package qemu

import (
	"os"
	"syscall"
)

// sysProcAttr makes QEMU and its helpers die with the process that owns
// them, so a killed daemon leaves no VM behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

func vhostVsock() bool {
	f, err := os.OpenFile("/dev/vhost-vsock", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

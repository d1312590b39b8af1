//go:build !windows

package compose

import (
	"os"
	"os/exec"
	"syscall"
)

// forwarded are the signals skiff passes on to compose.
var forwarded = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// exitCodeOf is a shell's status of a process a signal ended: 128+N.
func exitCodeOf(ee *exec.ExitError) int {
	var ws syscall.WaitStatus
	if st, ok := ee.Sys().(syscall.WaitStatus); ok {
		ws = st
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return 1
}

//go:build !windows

package machine

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// daemonPID returns the pid in daemon.pid when that process is this
// machine's daemon.
func (m *Machine) daemonPID() (int, bool) {
	return processOf(m.daemonPIDFile(), m.daemonArgs())
}

// processOf returns the pid in pidFile when that process runs this
// program with args (on Linux, its command line says so), never a
// stranger that reused the pid.
func processOf(pidFile string, args []string) (int, bool) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	if err := unix.Kill(pid, 0); err != nil && !errors.Is(err, unix.EPERM) {
		return 0, false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		// No /proc (macOS): the pid file is removed when the process exits.
		return pid, true
	}
	return pid, strings.Contains(string(cmdline), strings.Join(args, "\x00"))
}

func signalDaemon(pid int, kill bool) error {
	sig := unix.SIGTERM
	if kill {
		sig = unix.SIGKILL
	}
	if err := unix.Kill(pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		return err
	}
	return nil
}

// restrictToOwner makes dir the user's alone: the sockets created in it
// are the key to every container.
func restrictToOwner(dir string) error {
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("restrict %s to its owner: %w", dir, err)
	}
	return nil
}

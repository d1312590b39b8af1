//go:build !windows

package machine

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// spawnDaemon starts this program as the machine's host daemon, in its
// own session, with its output in daemon.log.
func (m *Machine) spawnDaemon() (*os.Process, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find skiff: %w", err)
	}
	logf, err := os.OpenFile(m.daemonLog(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open daemon log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(exe, m.daemonArgs()...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = m.spec.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the machine's host daemon: %w", err)
	}
	go func() { _ = cmd.Wait() }()
	return cmd.Process, nil
}

// daemonPID returns the pid in daemon.pid when that process is this
// machine's daemon (on Linux, its command line says so), never a stranger
// that reused the pid.
func (m *Machine) daemonPID() (int, bool) {
	b, err := os.ReadFile(m.daemonPIDFile())
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
		// No /proc (macOS): the pid file is removed when the daemon exits.
		return pid, true
	}
	want := strings.Join(m.daemonArgs(), "\x00")
	return pid, strings.Contains(string(cmdline), want)
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

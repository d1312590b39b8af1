//go:build !windows

package machine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// spawnDockerAPI starts this program as the machine's Docker API process,
// in its own session, with its output in dockerapi.log.
func (m *Machine) spawnDockerAPI() (*os.Process, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find skiff: %w", err)
	}
	logf, err := os.OpenFile(m.dockerAPILog(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open docker API log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(exe, m.dockerAPIArgs()...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = m.spec.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the docker API process: %w", err)
	}
	go func() { _ = cmd.Wait() }()
	return cmd.Process, nil
}

// dockerAPIPID returns the pid in dockerapi.pid when that process is this
// machine's docker API process.
func (m *Machine) dockerAPIPID() (int, bool) {
	b, err := os.ReadFile(m.dockerAPIPIDFile())
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
		return pid, true
	}
	return pid, strings.Contains(string(cmdline), strings.Join(m.dockerAPIArgs(), "\x00"))
}

func signalContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
}

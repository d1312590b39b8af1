//go:build !windows

package machine

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// spawnDockerAPI starts this program as the machine's Docker API process,
// with its output in dockerapi.log.
func (m *Machine) spawnDockerAPI() (*os.Process, error) {
	return m.spawn("the docker API process", m.dockerAPILog(), m.dockerAPIArgs())
}

// dockerAPIPID returns the pid in dockerapi.pid when that process is this
// machine's docker API process.
func (m *Machine) dockerAPIPID() (int, bool) {
	return processOf(m.dockerAPIPIDFile(), m.dockerAPIArgs())
}

func signalContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
}

package machine

import (
	"context"
	"errors"
	"os"
	"os/signal"
)

// Detached machines (native) exist only on Linux.
func (m *Machine) spawnDockerAPI() (*os.Process, error) {
	return nil, errors.New("no detached machines on Windows")
}

func (m *Machine) dockerAPIPID() (int, bool) { return 0, false }

func signalContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, os.Interrupt)
}

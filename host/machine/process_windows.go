package machine

import (
	"context"
	"fmt"
	"os"

	"github.com/skiffrun/skiff/platform"
)

func (m *Machine) spawnDaemon() (*os.Process, error) {
	return nil, fmt.Errorf("the host daemon on Windows: %w", platform.ErrNotSupported)
}

func (m *Machine) daemonPID() (int, bool) { return 0, false }

func signalDaemon(int, bool) error { return platform.ErrNotSupported }

func lockFile(context.Context, string) (func(), error) { return func() {}, nil }

package compose

import (
	"context"
	"time"

	"github.com/containerd/errdefs"
)

// SocketFile is the Docker API socket's name in a machine's directory.
const SocketFile = "docker.sock"

// socketWait bounds how long a started machine may take to serve its
// Docker API socket.
const socketWait = 10 * time.Second

// WaitDockerHost waits until the machine's Docker API answers at
// dockerHost, so compose never meets a socket not yet served.
func WaitDockerHost(ctx context.Context, machineName, dockerHost string) error {
	ctx, cancel := context.WithTimeout(ctx, socketWait)
	defer cancel()
	var err error
	for {
		if err = probe(ctx, dockerHost); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return errorf(errdefs.ErrUnavailable, "machine %q serves no Docker API at %s (%v); restart it with skiff machine stop (the next command starts it again)",
				machineName, dockerHost, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

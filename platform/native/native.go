package native

import (
	"context"
	"net"
	"time"

	"github.com/skiffrun/skiff/platform"
)

// Name is the name the driver registers under.
const Name = "native"

func init() { platform.Register(Name, Driver{}) }

// Driver runs skiff-agent as a host daemon.
type Driver struct{}

var (
	_ platform.Detached = Driver{}
	_ platform.Machine  = (*machine)(nil)
)

// Start runs the agent described by spec unless it already answers on
// spec.AgentSocket, and waits until it does.
func (Driver) Start(ctx context.Context, spec platform.MachineSpec) (platform.Machine, error) {
	if err := start(ctx, spec); err != nil {
		return nil, err
	}
	return &machine{spec: spec}, nil
}

// Attach returns the agent running for spec, or a not-found error.
func (Driver) Attach(ctx context.Context, spec platform.MachineSpec) (platform.Machine, error) {
	if err := attach(ctx, spec); err != nil {
		return nil, err
	}
	return &machine{spec: spec}, nil
}

// machine is an agent running as a host daemon. Its methods work from any
// process, not only the one that started it.
type machine struct {
	spec platform.MachineSpec
}

// AgentConn dials the agent's gRPC socket, retrying until ctx ends.
func (m *machine) AgentConn(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "unix", m.spec.AgentSocket)
		if err == nil {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(pollInterval):
		}
	}
}

// Wait returns once the agent has exited.
func (m *machine) Wait(ctx context.Context) error { return wait(ctx, m.spec) }

// Stop waits for the agent to exit until ctx ends, then terminates it, and
// removes its socket and pid file. Asking the agent to shut down is the
// caller's, who speaks its API.
func (m *machine) Stop(ctx context.Context) error { return stop(ctx, m.spec) }

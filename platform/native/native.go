package native

import (
	"context"

	"github.com/skiffrun/skiff/platform"
)

// Name is the name the driver registers under.
const Name = "native"

func init() { platform.Register(Name, Driver{}) }

// Driver runs skiff-agent as a host daemon.
type Driver struct{}

var _ platform.Driver = Driver{}

// Start runs the agent described by spec unless it already answers on
// spec.AgentSocket, and waits until it does.
func (Driver) Start(ctx context.Context, spec platform.MachineSpec) error {
	return start(ctx, spec)
}

// Stop waits for the agent to exit until ctx ends, then terminates it, and
// removes its socket and pid file.
func (Driver) Stop(ctx context.Context, spec platform.MachineSpec) error {
	return stop(ctx, spec)
}

//go:build !linux

package native

import (
	"context"
	"fmt"
	"time"

	"github.com/skiffrun/skiff/platform"
)

// pollInterval paces AgentConn's retries.
const pollInterval = 5 * time.Millisecond

var errLinuxOnly = fmt.Errorf("the native driver runs skiff-agent on a Linux host: %w", platform.ErrNotSupported)

func start(context.Context, platform.MachineSpec) error  { return errLinuxOnly }
func attach(context.Context, platform.MachineSpec) error { return errLinuxOnly }
func wait(context.Context, platform.MachineSpec) error   { return errLinuxOnly }
func stop(context.Context, platform.MachineSpec) error   { return errLinuxOnly }

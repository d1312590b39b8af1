//go:build !linux

package native

import (
	"context"
	"fmt"

	"github.com/skiffrun/skiff/platform"
)

func start(context.Context, platform.MachineSpec) error {
	return fmt.Errorf("the native driver runs skiff-agent on a Linux host: %w", platform.ErrNotSupported)
}

func stop(context.Context, platform.MachineSpec) error {
	return fmt.Errorf("the native driver runs skiff-agent on a Linux host: %w", platform.ErrNotSupported)
}

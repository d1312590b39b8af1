//go:build !cgo

package vz

import (
	"context"
	"fmt"

	"github.com/skiffrun/skiff/platform"
)

// errNoCgo is what a skiff built without cgo says: Code-Hex/vz calls
// Virtualization.framework through cgo and Objective-C.
var errNoCgo = fmt.Errorf("this skiff was built without cgo, and the vz driver needs it: build skiff on macOS with CGO_ENABLED=1 (make build), or use --driver qemu: %w", platform.ErrNotSupported)

// Check reports that this build cannot run vz machines.
func (Driver) Check(platform.MachineSpec) error { return errNoCgo }

// Start reports that this build cannot run vz machines.
func (Driver) Start(context.Context, platform.MachineSpec) (platform.Machine, error) {
	return nil, errNoCgo
}

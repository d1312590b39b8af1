//go:build cgo

package vz

import (
	"fmt"

	"github.com/Code-Hex/vz/v3"

	"github.com/skiffrun/skiff/platform"
)

// rosettaAvailability reports that Intel Macs have no Rosetta for Linux.
func rosettaAvailability() Rosetta { return RosettaUnsupported }

func rosettaShare() (vz.DirectoryShare, error) {
	return nil, fmt.Errorf("share Rosetta for Linux on an Intel Mac: %w", platform.ErrNotSupported)
}

//go:build cgo

package vz

import "github.com/Code-Hex/vz/v3"

// rosettaAvailability reports whether Rosetta for Linux can be shared.
func rosettaAvailability() Rosetta {
	switch vz.LinuxRosettaDirectoryShareAvailability() {
	case vz.LinuxRosettaAvailabilityInstalled:
		return RosettaInstalled
	case vz.LinuxRosettaAvailabilityNotInstalled:
		return RosettaNotInstalled
	}
	return RosettaUnsupported
}

func rosettaShare() (vz.DirectoryShare, error) {
	return vz.NewLinuxRosettaDirectoryShare()
}

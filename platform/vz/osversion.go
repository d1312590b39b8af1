package vz

import (
	"fmt"
	"strconv"
	"strings"
)

// OSVersion is a macOS version, as sysctl kern.osproductversion gives it
// ("14.6.1", "26.0").
type OSVersion struct {
	Major, Minor, Patch int
}

// ParseOSVersion parses a macOS product version: two or three numbers
// separated by dots.
func ParseOSVersion(s string) (OSVersion, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) < 2 || len(parts) > 3 {
		return OSVersion{}, fmt.Errorf("macOS version %q: want MAJOR.MINOR[.PATCH]", s)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || v > 9999 || p != strconv.Itoa(v) {
			return OSVersion{}, fmt.Errorf("macOS version %q: %q is not a version number", s, p)
		}
		n[i] = v
	}
	return OSVersion{Major: n[0], Minor: n[1], Patch: n[2]}, nil
}

// AtLeast reports whether v is major.minor or later.
func (v OSVersion) AtLeast(major, minor int) bool {
	return v.Major > major || v.Major == major && v.Minor >= minor
}

func (v OSVersion) String() string {
	if v.Patch != 0 {
		return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
	}
	return fmt.Sprintf("%d.%d", v.Major, v.Minor)
}

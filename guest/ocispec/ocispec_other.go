//go:build !linux

package ocispec

import (
	"errors"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// errNoSeccomp is returned where the seccomp profile cannot be built: Linux
// containers are only ever run by the agent on Linux.
var errNoSeccomp = errors.New("seccomp profiles are built on Linux only")

func defaultSeccomp(*specs.Spec, string) (*specs.LinuxSeccomp, error) { return nil, errNoSeccomp }

func hostDevices() []specs.LinuxDevice { return nil }

func boundingSet() []string { return allCapabilities }

func cgroup2() bool { return false }

package ocispec

import (
	"runtime"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// defaultSeccomp is Docker's default profile, which widens itself for the
// capabilities s grants (e.g. CAP_SYS_ADMIN allows mount).
//
// The profile is compiled to BPF in every container's init, and covering
// a 32-bit ABI next to the machine's own costs more than the rest of a
// container's start (tens of milliseconds: its socket and ipc calls are
// multiplexed). So the profile covers the machine's architecture, plus
// its 32-bit companion only for an image built for that one (i386 on an
// amd64 machine, arm on arm64).
func defaultSeccomp(s *specs.Spec, imageArch string) (*specs.LinuxSeccomp, error) {
	p, err := seccomp.GetDefaultProfile(s)
	if err != nil {
		return nil, err
	}
	if arches := seccompArches(runtime.GOARCH, imageArch); arches != nil {
		p.Architectures = arches
	}
	return p, nil
}

package ocispec

import (
	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// defaultSeccomp is Docker's default profile, which widens itself for the
// capabilities s grants (e.g. CAP_SYS_ADMIN allows mount).
func defaultSeccomp(s *specs.Spec) (*specs.LinuxSeccomp, error) {
	return seccomp.GetDefaultProfile(s)
}

package ocispec

import specs "github.com/opencontainers/runtime-spec/specs-go"

// seccompArches are the ABIs a container's seccomp filter covers on a
// machine of architecture machine running an image of imageArch; nil
// keeps the profile's own list.
func seccompArches(machine, imageArch string) []specs.Arch {
	switch machine {
	case "amd64":
		if imageArch == "386" {
			return []specs.Arch{specs.ArchX86_64, specs.ArchX86}
		}
		return []specs.Arch{specs.ArchX86_64}
	case "arm64":
		if imageArch == "arm" {
			return []specs.Arch{specs.ArchAARCH64, specs.ArchARM}
		}
		return []specs.Arch{specs.ArchAARCH64}
	}
	return nil
}

package ociplatform

import "golang.org/x/sys/cpu"

// amd64Level is the x86-64 microarchitecture level of this CPU (v1 to
// v4, as the psABI defines them), from the features Go's cpu package
// reads. It leaves out the few each level also lists that the package
// does not report (CMPXCHG16B, LAHF, XSAVE's support by the OS): no CPU
// has the rest without them.
func amd64Level() string {
	x := cpu.X86
	if !(x.HasSSE3 && x.HasSSSE3 && x.HasSSE41 && x.HasSSE42 && x.HasPOPCNT) {
		return "v1"
	}
	if !(x.HasAVX && x.HasAVX2 && x.HasBMI1 && x.HasBMI2 && x.HasF16C && x.HasFMA && x.HasLZCNT && x.HasMOVBE) {
		return "v2"
	}
	if !(x.HasAVX512F && x.HasAVX512BW && x.HasAVX512CD && x.HasAVX512DQ && x.HasAVX512VL) {
		return "v3"
	}
	return "v4"
}

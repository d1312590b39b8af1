package vz

import (
	"bytes"
	"fmt"
)

// KernelFormat is the kind of a kernel image file.
type KernelFormat string

// Kernel formats told apart by their headers.
const (
	KernelUnknown KernelFormat = "unknown"
	// KernelELF is an uncompressed vmlinux.
	KernelELF KernelFormat = "ELF vmlinux"
	// KernelARM64Image is arm64's uncompressed Image.
	KernelARM64Image KernelFormat = "arm64 Image"
	// KernelBzImage is x86's compressed, self-extracting bzImage.
	KernelBzImage KernelFormat = "bzImage"
	// KernelCompressed is a gzip file or an EFI zboot image: a
	// compressed arm64 kernel.
	KernelCompressed KernelFormat = "compressed kernel"
)

// kernelHeaderSize is how much of a kernel kernelFormat reads: the x86
// boot protocol's magic sits at 0x202.
const kernelHeaderSize = 1024

// kernelFormat tells a kernel's format from its first bytes.
func kernelFormat(b []byte) KernelFormat {
	at := func(off int, magic string) bool {
		return len(b) >= off+len(magic) && bytes.Equal(b[off:off+len(magic)], []byte(magic))
	}
	switch {
	case at(0, "\x7fELF"):
		return KernelELF
	case at(56, "ARM\x64"):
		return KernelARM64Image
	case at(0x202, "HdrS"):
		return KernelBzImage
	case at(0, "\x1f\x8b"), at(0, "MZ") && at(4, "zimg"):
		return KernelCompressed
	}
	return KernelUnknown
}

// checkKernel reports a kernel that Virtualization.framework cannot boot
// on arch: Apple silicon boots only an uncompressed arm64 Image. On Intel
// Macs Apple's own examples boot a bzImage; an ELF vmlinux has not been
// seen to boot, so it is tried with a note rather than refused.
func checkKernel(arch string, f KernelFormat) (note string, err error) {
	fix := "; rebuild the guest image with make vmimage"
	switch arch {
	case "arm64":
		if f != KernelARM64Image {
			return "", fmt.Errorf("guest kernel format: %s; Virtualization.framework on Apple silicon boots only an uncompressed arm64 Image%s", f, fix)
		}
	case "amd64":
		switch f {
		case KernelBzImage:
		case KernelELF:
			return "the guest kernel is an ELF vmlinux; Virtualization.framework on Intel Macs is known to boot a bzImage, so if the machine does not come up, its console log is the place to look", nil
		default:
			return "", fmt.Errorf("guest kernel format: %s; Virtualization.framework on Intel Macs boots a bzImage%s", f, fix)
		}
	}
	return "", nil
}

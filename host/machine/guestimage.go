package machine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"

	"github.com/skiffrun/skiff/guest/api/errclass"
)

// vmImage is the guest image a VM boots: its kernel and initramfs.
type vmImage struct{ kernel, initrd string }

// kernelName is the guest kernel's file name per architecture: an ELF
// vmlinux (PVH boot) on amd64, the uncompressed Image on arm64.
func kernelName(arch string) string {
	if arch == "arm64" {
		return "Image"
	}
	return "vmlinux"
}

// initramfsName is the initramfs file the image's manifest names.
func initramfsName(dir string) string {
	var m struct {
		Initramfs struct {
			File string `json:"file"`
		} `json:"initramfs"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "manifest.json")); err == nil && json.Unmarshal(b, &m) == nil && m.Initramfs.File != "" && filepath.Base(m.Initramfs.File) == m.Initramfs.File {
		return m.Initramfs.File
	}
	return "initramfs.cpio"
}

// findVMImage locates the guest image: $SKIFF_VMIMAGE (the folder itself,
// or its ARCH subfolder), else vmimage/ARCH beside the skiff binary.
func findVMImage(arch string) (vmImage, error) {
	var dirs []string
	if d := os.Getenv("SKIFF_VMIMAGE"); d != "" {
		dirs = append(dirs, filepath.Join(d, arch), d)
	} else if exe, err := os.Executable(); err == nil {
		if resolved, err := filepath.EvalSymlinks(exe); err == nil {
			exe = resolved
		}
		dirs = append(dirs, filepath.Join(filepath.Dir(exe), "vmimage", arch))
	}
	for _, d := range dirs {
		k := filepath.Join(d, kernelName(arch))
		if _, err := os.Stat(k); err == nil {
			abs, err := filepath.Abs(d)
			if err != nil {
				return vmImage{}, err
			}
			return vmImage{kernel: filepath.Join(abs, kernelName(arch)), initrd: filepath.Join(abs, initramfsName(abs))}, nil
		}
	}
	return vmImage{}, errclass.Errorf(errdefs.ErrNotFound, "no guest image for %s at %s; build it with make vmimage (and make build), or set SKIFF_VMIMAGE to its folder", arch, strings.Join(dirs, " or "))
}

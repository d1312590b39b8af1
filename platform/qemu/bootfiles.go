package qemu

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/skiffrun/skiff/platform"
)

// QEMU maps the initramfs file (-initrd) and, on amd64, the kernel's ELF
// (-kernel, booted by PVH), and keeps both mappings for as long as it
// runs, in case of a reset. So every page of them stays in its resident
// memory after the guest has its own copy: the initramfs's 30-50 MB and
// the kernel's ~18 MB, held for nothing, since the machine never resets
// (-no-reboot makes a reboot an exit). So QEMU boots from copies in the
// machine's folder, which are truncated once the agent is up: the kernel
// then drops those pages from QEMU's mappings, even the ones it wrote to,
// and from the host's page cache. On arm64 QEMU reads the kernel's Image
// into memory of its own instead, which a truncated file does not free.
const (
	bootInitrd = "initramfs.boot"
	bootKernel = "kernel.boot"
)

// stageBootFile copies the image's file src into dir as name, for one
// boot, and returns the copy's path.
func stageBootFile(src, dir, name string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	dst := filepath.Join(dir, name)
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", fmt.Errorf("stage %s for the boot: %w", filepath.Base(src), err)
	}
	_, err = io.Copy(out, in)
	if err = errors.Join(err, out.Close()); err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("stage %s for the boot: %w", filepath.Base(src), err)
	}
	return dst, nil
}

// stageBootFiles stages the files of spec's image that QEMU keeps mapped
// (see bootInitrd), and returns spec booting from the copies.
func stageBootFiles(spec platform.MachineSpec) (platform.MachineSpec, error) {
	var err error
	if spec.Initrd, err = stageBootFile(spec.Initrd, spec.Dir, bootInitrd); err != nil {
		return spec, err
	}
	if spec.Arch == "amd64" {
		if spec.Kernel, err = stageBootFile(spec.Kernel, spec.Dir, bootKernel); err != nil {
			return spec, err
		}
	}
	return spec, nil
}

// releaseBootFiles empties the staged copies, which QEMU no longer reads.
func releaseBootFiles(spec platform.MachineSpec) error {
	var errs []error
	for _, name := range []string{bootInitrd, bootKernel} {
		if err := os.Truncate(filepath.Join(spec.Dir, name), 0); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("release the staged %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

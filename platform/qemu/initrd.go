package qemu

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// QEMU maps the initramfs file (-initrd) and keeps the mapping for as
// long as it runs, in case of a reset, so every page of it stays in its
// resident memory after the guest has copied the initramfs into its own
// RAM and unpacked it: 30-50 MB held for nothing, since the machine never
// resets (-no-reboot makes a reboot an exit). So QEMU boots from a copy
// in the machine's folder, which is truncated once the agent is up: the
// kernel then drops those pages from QEMU's mapping and from the host's
// page cache.
const bootInitrd = "initramfs.boot"

// stageInitrd copies the image's initramfs src into dir for one boot and
// returns the copy's path.
func stageInitrd(src, dir string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	dst := filepath.Join(dir, bootInitrd)
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", fmt.Errorf("stage the initramfs: %w", err)
	}
	_, err = io.Copy(out, in)
	if err = errors.Join(err, out.Close()); err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("stage the initramfs: %w", err)
	}
	return dst, nil
}

// releaseInitrd empties the staged copy, which QEMU no longer reads.
func releaseInitrd(path string) error {
	if err := os.Truncate(path, 0); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("release the staged initramfs: %w", err)
	}
	return nil
}

package machine

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"time"

	"golang.org/x/sys/unix"
)

// ext4Magic sits at byte 1080 of an ext2/3/4 file system.
const (
	ext4MagicOffset = 1024 + 0x38
	ext4Magic       = 0xEF53
)

// mountDataDisk mounts the data disk at dir, formatting it first when it
// holds no file system (a new machine). With no disk, dir stays on the
// tmpfs root and nothing persists.
func mountDataDisk(ctx context.Context, disk, dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if disk == "" {
		log.Warn("no data disk (skiff.disk=): images and containers are kept in memory only")
		return nil
	}
	dev := "/dev/" + disk
	if err := waitForFile(ctx, dev, 10*time.Second); err != nil {
		return fmt.Errorf("data disk %s: %w", dev, err)
	}
	formatted, err := hasExt4(dev)
	if err != nil {
		return fmt.Errorf("data disk %s: %w", dev, err)
	}
	if !formatted {
		start := time.Now()
		cmd := exec.CommandContext(ctx, "/sbin/mkfs.ext4", "-q", "-F", "-L", "skiff-data",
			"-E", "lazy_itable_init=1,lazy_journal_init=1", dev)
		cmd.Env = []string{"PATH=/sbin:/bin", "LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib/aarch64-linux-gnu:/usr/lib/aarch64-linux-gnu"}
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("format data disk %s: %w: %s", dev, err, out)
		}
		log.Info("formatted the data disk", "device", dev, "took", time.Since(start).Round(time.Millisecond))
	}
	if err := unix.Mount(dev, dir, "ext4", unix.MS_NOATIME, ""); err != nil {
		return fmt.Errorf("mount data disk %s on %s: %w", dev, dir, err)
	}
	return os.Chmod(dir, 0o700)
}

// hasExt4 reports whether the device holds an ext2/3/4 superblock.
func hasExt4(dev string) (bool, error) {
	f, err := os.Open(dev)
	if err != nil {
		return false, err
	}
	defer f.Close()
	b := make([]byte, 2)
	if _, err := f.ReadAt(b, ext4MagicOffset); err != nil {
		return false, fmt.Errorf("read superblock: %w", err)
	}
	return binary.LittleEndian.Uint16(b) == ext4Magic, nil
}

// waitForFile waits for a device node that a driver is still probing.
func waitForFile(ctx context.Context, name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		_, err := os.Stat(name)
		if err == nil || !errors.Is(err, os.ErrNotExist) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

package machine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"time"

	"golang.org/x/sys/unix"
)

// mountDataDisk mounts the data disk at dir, formatting it first when it
// is blank (a new machine). A disk that holds data but no ext4 file
// system is an error: it is never formatted. With no disk, dir stays on
// the initramfs's memory and nothing persists.
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
	content, err := probeDisk(dev)
	if err != nil {
		return fmt.Errorf("data disk %s: %w", dev, err)
	}
	switch content {
	case diskForeign:
		return fmt.Errorf("data disk %s holds data but no ext4 file system, so skiff will not format it; "+
			"give the machine a new, empty disk image, or empty this one (its data is lost) and start the machine again", dev)
	case diskBlank:
		start := time.Now()
		cmd := exec.CommandContext(ctx, "/sbin/mkfs.ext4", "-q", "-F", "-L", "skiff-data",
			"-E", "lazy_itable_init=1,lazy_journal_init=1", dev)
		cmd.Env = []string{"PATH=/sbin:/bin", "LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib/aarch64-linux-gnu:/usr/lib/aarch64-linux-gnu"}
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("format data disk %s: %w: %s", dev, err, out)
		}
		log.Info("formatted the blank data disk", "device", dev, "took", time.Since(start).Round(time.Millisecond))
	}
	if err := unix.Mount(dev, dir, "ext4", unix.MS_NOATIME, ""); err != nil {
		return fmt.Errorf("mount data disk %s on %s: %w", dev, dir, err)
	}
	return os.Chmod(dir, 0o700)
}

// probeDisk reads the start of the device and classifies it
// (classifyDisk).
func probeDisk(dev string) (diskContent, error) {
	f, err := os.Open(dev)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	head := make([]byte, diskProbeSize)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("read the disk's first %d bytes: %w", diskProbeSize, err)
	}
	return classifyDisk(head[:n]), nil
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

package image

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// syncFS flushes the whole filesystem holding dir: one call makes every
// file and directory of freshly unpacked layers durable, where fsyncing
// each would cost a call per file.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// startWriteback asks the kernel to begin writing n bytes of f from off
// to disk without waiting, so that the fsync that ends a download finds
// little left to do: the disk works while the network still delivers.
func startWriteback(f *os.File, off, n int64) error {
	return unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}

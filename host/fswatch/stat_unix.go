//go:build !windows

package fswatch

import (
	"errors"
	"io/fs"
	"syscall"
)

func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino) //nolint:unconvert // int64 on some systems
	}
	return 0
}

// limitHit reports whether err is the host running out of watches
// (inotify's ENOSPC) or of descriptors (kqueue's EMFILE).
func limitHit(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

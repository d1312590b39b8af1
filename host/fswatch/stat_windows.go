package fswatch

import (
	"errors"
	"io/fs"
	"syscall"
)

// inode is 0 on Windows: FileInfo carries no file index there, and size
// and times tell changes apart well enough.
func inode(fs.FileInfo) uint64 { return 0 }

// limitHit reports whether err is the host running out of handles.
func limitHit(err error) bool {
	return errors.Is(err, syscall.Errno(8)) || errors.Is(err, syscall.Errno(1450)) // ERROR_NOT_ENOUGH_MEMORY, ERROR_NO_SYSTEM_RESOURCES
}

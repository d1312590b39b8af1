//go:build !windows

package machine

import (
	"io/fs"
	"syscall"
)

// allocated is the bytes a file takes on disk: st_blocks, in 512-byte
// units whatever the file system's block size.
func allocated(st fs.FileInfo) (int64, error) {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return int64(s.Blocks) * 512, nil //nolint:unconvert // int64 on some OSes only
	}
	return st.Size(), nil
}

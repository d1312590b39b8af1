package machine

import (
	"io/fs"

	"github.com/skiffrun/skiff/platform"
)

// allocated would need GetCompressedFileSize; the disk's size stands in.
func allocated(st fs.FileInfo) (int64, error) {
	return st.Size(), platform.ErrNotSupported
}

//go:build !linux

package image

import (
	"errors"
	"fmt"
	"os"
)

// syncFS needs syncfs(2), which only Linux has; the store cannot unpack
// layers elsewhere anyway.
func syncFS(dir string) error {
	return fmt.Errorf("sync %s: %w", dir, errors.ErrUnsupported)
}

// startWriteback needs sync_file_range(2), which only Linux has.
func startWriteback(*os.File, int64, int64) error { return errors.ErrUnsupported }

//go:build !linux

package image

import (
	"errors"
	"fmt"
)

// syncFS needs syncfs(2), which only Linux has; the store cannot unpack
// layers elsewhere anyway.
func syncFS(dir string) error {
	return fmt.Errorf("sync %s: %w", dir, errors.ErrUnsupported)
}

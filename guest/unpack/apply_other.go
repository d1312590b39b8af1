//go:build !linux

package unpack

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Apply needs Linux: overlayfs whiteouts, mknod and the *at system calls
// it walks paths with exist nowhere else.
func Apply(ctx context.Context, dir string, r io.Reader) (int64, error) {
	return 0, fmt.Errorf("unpack layer into %s: %w", dir, errors.ErrUnsupported)
}

// ApplyFiles needs Linux, as Apply does.
func ApplyFiles(ctx context.Context, dir string, r io.Reader) (int64, error) {
	return 0, fmt.Errorf("unpack archive into %s: %w", dir, errors.ErrUnsupported)
}

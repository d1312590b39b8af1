// Package atomicfile writes the host's small state files (machine config,
// pid files, caches) so that a reader, or a skiff started after a crash,
// sees the old content or the new one, never a part: a temp file beside
// the target, fsync, rename, fsync of the directory. It imports only the
// standard library, so the drivers and host/ can share it.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile atomically replaces path with data, readable by the owner
// only.
func WriteFile(path string, data []byte) (retErr error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if retErr != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		// Windows cannot sync a directory; the rename stands anyway.
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

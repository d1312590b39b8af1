// Package atomicfile writes small state files (the agent's records, the
// host's machine config, pid and state files, the drivers' caches) so
// that a reader, or a program started again after being killed, sees the
// old content or the new one, never a part of it: a temp file beside the
// target, fsync, rename over the target, fsync of the directory. The
// agent, host/ and the drivers share it; it imports only the standard
// library.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// TempPrefix begins the name of every temp file this package creates, so
// that a recovery pass can recognise and remove leftovers.
const TempPrefix = ".tmp-"

// WriteFile atomically replaces path with data, readable by its owner
// only.
func WriteFile(path string, data []byte) (retErr error) {
	dir := filepath.Dir(path)
	// CreateTemp makes the file 0600.
	f, err := os.CreateTemp(dir, TempPrefix+filepath.Base(path)+"-")
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
	return syncDir(dir)
}

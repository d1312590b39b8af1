package platform

import (
	"fmt"
	"os"
)

// EnsureRaw creates d as a sparse raw file (the host's file system
// allocates only what the guest writes), or grows it to its size; it
// never shrinks one, which would cut the guest's file system. The vz and
// QEMU drivers use it; HCS's disk is a VHDX.
func (d Disk) EnsureRaw() error {
	f, err := os.OpenFile(d.Path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create data disk: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("data disk: %w", err)
	}
	if st.Size() < d.SizeBytes {
		if err := f.Truncate(d.SizeBytes); err != nil {
			return fmt.Errorf("size data disk %s: %w", d.Path, err)
		}
	}
	return nil
}

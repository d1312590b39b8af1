package container

import (
	securejoin "github.com/cyphar/filepath-securejoin"

	"github.com/skiffrun/skiff/guest/volume"
)

// copyUp fills the volume folder dir, when empty, with what the
// container's root filesystem holds at dst.
func copyUp(rootfs, dst, dir string) error {
	src, err := securejoin.SecureJoin(rootfs, dst)
	if err != nil {
		return err
	}
	return volume.CopyUp(src, dir)
}

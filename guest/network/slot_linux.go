package network

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/skiffrun/skiff/guest/api/filelock"
)

// maxSlots bounds the agents that can share one kernel's networking.
const maxSlots = 16

// AcquireSlot takes the first free slot of the agents sharing this
// kernel, held by a lock file under dir until release is called (or the
// process exits). Agents of several skiff homes on one host then use
// different bridges, subnets and nftables tables, and never take down
// each other's.
func AcquireSlot(dir string) (slot int, release func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, nil, fmt.Errorf("create %s: %w", dir, err)
	}
	for i := 0; i < maxSlots; i++ {
		release, ok, err := filelock.TryLock(filepath.Join(dir, fmt.Sprintf("network-slot-%d.lock", i)))
		if err != nil {
			return 0, nil, fmt.Errorf("network slot: %w", err)
		}
		if ok {
			return i, release, nil
		}
	}
	return 0, nil, fmt.Errorf("all %d network slots under %s are taken by other skiff agents: stop one (skiff machine stop)", maxSlots, dir)
}

package network

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// maxSlots bounds the agents that can share one kernel's networking.
const maxSlots = 16

// AcquireSlot takes the first free slot of the agents sharing this
// kernel, held by a lock file under dir for as long as the returned file
// stays open (the process's life). Agents of several skiff homes on one
// host then use different bridges, subnets and nftables tables, and never
// take down each other's.
func AcquireSlot(dir string) (int, *os.File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, nil, fmt.Errorf("create %s: %w", dir, err)
	}
	for i := 0; i < maxSlots; i++ {
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("network-slot-%d.lock", i)), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return 0, nil, fmt.Errorf("open network slot lock: %w", err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err == nil {
			return i, f, nil
		}
		f.Close()
	}
	return 0, nil, fmt.Errorf("all %d network slots under %s are taken by other skiff agents: stop one (skiff machine stop)", maxSlots, dir)
}

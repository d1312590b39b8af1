//go:build !linux

package machine

import "github.com/skiffrun/skiff/platform"

// processRSS is not read on this OS yet: the host's process tools
// (Activity Monitor, Task Manager) show the hypervisor's memory.
func processRSS(int) (int64, error) { return 0, platform.ErrNotSupported }

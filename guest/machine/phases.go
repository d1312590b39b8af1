package machine

import (
	"fmt"
	"strconv"
	"time"
)

// bootPhases are the moments of the machine's boot as guest uptimes: the
// kernel's hand-over is 0. The agent prints them once it is ready, so a
// regression in any phase shows on the console; the host's driver adds
// the time from the hypervisor's start to the hand-over.
type bootPhases struct {
	// init is when PID 1's code began, after the kernel's drivers and
	// the initramfs's unpacking; agent when the agent process began.
	init, agent, disk, ready time.Duration
}

func (p bootPhases) String() string {
	s := func(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + "s" }
	return fmt.Sprintf("kernel hand-over 0s → init %s → agent %s → data disk mounted %s → agent ready %s (guest uptime)",
		s(p.init), s(p.agent), s(p.disk), s(p.ready))
}

// initStartedEnv carries, from PID 1 to the agent process, the uptime at
// which PID 1's own code began to run, in nanoseconds. The start time in
// /proc/1/stat is no use: it is when the kernel made the task that later
// runs init, before the drivers and the initramfs.
const initStartedEnv = "SKIFF_INIT_STARTED"

// initStarted is the uptime that initStartedEnv's value v gives; 0 when v
// is missing or not a duration.
func initStarted(v string) time.Duration {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(n)
}

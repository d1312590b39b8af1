package machine

import (
	"bytes"
	"fmt"
	"strconv"
	"time"
)

// bootPhases are the moments of the machine's boot as guest uptimes: the
// kernel's hand-over is 0. The agent prints them once it is ready, so a
// regression in any phase shows on the console; the host's driver adds
// the time from the hypervisor's start to the hand-over.
type bootPhases struct {
	init, agent, disk, ready time.Duration
}

func (p bootPhases) String() string {
	s := func(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + "s" }
	return fmt.Sprintf("kernel hand-over 0s → init %s → agent %s → data disk mounted %s → agent ready %s (guest uptime)",
		s(p.init), s(p.agent), s(p.disk), s(p.ready))
}

// userHz is the unit of the times in /proc/PID/stat (USER_HZ, fixed at
// 100 in the kernel's ABI).
const userHz = 100

// procStartTime is when a process started, as uptime, from the content
// of its /proc/PID/stat (field 22, after the command name, which may hold
// spaces and parentheses itself).
func procStartTime(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/PID/stat: no command name")
	}
	f := bytes.Fields(stat[i+1:])
	// f[0] is field 3 (state); starttime is field 22.
	if len(f) < 20 {
		return 0, fmt.Errorf("/proc/PID/stat: %d fields after the command name, want 20 or more", len(f))
	}
	ticks, err := strconv.ParseUint(string(f[19]), 10, 63)
	if err != nil {
		return 0, fmt.Errorf("/proc/PID/stat: start time: %w", err)
	}
	return time.Duration(ticks) * (time.Second / userHz), nil
}

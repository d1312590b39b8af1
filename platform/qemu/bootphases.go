package qemu

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// readyMarker starts the line the agent prints once it is ready, with its
// uptime: "skiff-agent: ready (1.234s after boot)".
var readyMarker = []byte("skiff-agent: ready (")

// readyUptime finds the agent's ready line in console output and returns
// the guest uptime it gives.
func readyUptime(console []byte) (time.Duration, bool) {
	i := bytes.Index(console, readyMarker)
	if i < 0 {
		return 0, false
	}
	rest := console[i+len(readyMarker):]
	j := bytes.Index(rest, []byte("s after boot)"))
	if j <= 0 {
		return 0, false
	}
	secs, err := strconv.ParseFloat(string(rest[:j]), 64)
	if err != nil || secs < 0 || secs > 1e6 {
		return 0, false
	}
	return time.Duration(secs * float64(time.Second)), true
}

// hostPhases is the console line the driver adds once the agent is
// ready: the time from QEMU's launch to the kernel's hand-over (the
// firmware, the boot loader and QEMU's own start) and to the agent's
// ready line, on the host's clock. The agent's own "boot phases" line
// splits the rest.
func hostPhases(sinceLaunch, guestUptime time.Duration) string {
	handover := max(sinceLaunch-guestUptime, 0)
	return fmt.Sprintf("skiff: boot phases: hypervisor start 0s → kernel hand-over %.3fs → agent ready %.3fs (host clock, from QEMU's launch)",
		handover.Seconds(), sinceLaunch.Seconds())
}

// lineEnd reports the size of the console file at path and whether it
// ends a line there (an empty file does).
func lineEnd(path string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, false
	}
	if st.Size() == 0 {
		return 0, true
	}
	var b [1]byte
	if _, err := f.ReadAt(b[:], st.Size()-1); err != nil {
		return st.Size(), false
	}
	return st.Size(), b[0] == '\n'
}

package machine

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// processRSS returns the resident memory of process pid in bytes, from
// /proc/PID/status's VmRSS.
func processRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read the memory of process %d: %w", pid, err)
	}
	return vmRSS(string(data))
}

// vmRSS reads VmRSS ("VmRSS:   412340 kB") from a /proc status text.
func vmRSS(text string) (int64, error) {
	for _, line := range strings.Split(text, "\n") {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			break
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			break
		}
		return n * 1024, nil
	}
	return 0, fmt.Errorf("no VmRSS in the process status")
}

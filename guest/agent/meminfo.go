package agent

import (
	"strconv"
	"strings"
)

// meminfoField returns field of /proc/meminfo's text in bytes ("MemAvailable:
// 123 kB" is 123*1024); 0 when it is missing or unreadable.
func meminfoField(text, field string) int64 {
	for _, line := range strings.Split(text, "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || name != field {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || n < 0 {
			return 0
		}
		if len(f) > 1 && f[1] == "kB" {
			n *= 1024
		}
		return n
	}
	return 0
}

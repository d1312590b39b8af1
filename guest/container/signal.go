package container

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"github.com/containerd/errdefs"
)

// Linux's signal numbers (x86 and arm numbering, which skiff's machines
// use), kept as data so that the package means the same on every OS it
// is built for.
const (
	sigKILL syscall.Signal = 9
	sigTERM syscall.Signal = 15
)

var signalNumbers = map[string]syscall.Signal{
	"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6,
	"BUS": 7, "FPE": 8, "KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12,
	"PIPE": 13, "ALRM": 14, "TERM": 15, "STKFLT": 16, "CHLD": 17, "CONT": 18,
	"STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23, "XCPU": 24,
	"XFSZ": 25, "VTALRM": 26, "PROF": 27, "WINCH": 28, "IO": 29, "POLL": 29,
	"PWR": 30, "SYS": 31,
}

// ParseSignal parses "SIGTERM", "TERM", "term", "15" or "RTMIN+3".
func ParseSignal(s string) (syscall.Signal, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" {
		return 0, fmt.Errorf("no signal given: %w", errdefs.ErrInvalidArgument)
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal %q: numbers go from 1 to 64: %w", s, errdefs.ErrInvalidArgument)
		}
		return syscall.Signal(n), nil
	}
	name := strings.TrimPrefix(s, "SIG")
	if sig, ok := signalNumbers[name]; ok {
		return sig, nil
	}
	if off, ok := strings.CutPrefix(name, "RTMIN+"); ok {
		if n, err := strconv.Atoi(off); err == nil && n >= 0 && n <= 30 {
			return syscall.Signal(34 + n), nil
		}
	}
	return 0, fmt.Errorf("invalid signal %q: use a name such as SIGTERM or KILL, or a number: %w", s, errdefs.ErrInvalidArgument)
}

//go:build !windows

package stream

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// notify subscribes ch to every signal; signalName filters out those that
// are skiff's own business.
func notify(ch chan<- os.Signal) { signal.Notify(ch) }

func signalName(sig os.Signal) (string, bool) {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return "", false
	}
	switch s {
	// SIGCHLD and SIGPIPE concern skiff's own children and pipes, SIGURG
	// is the Go runtime's preemption, SIGWINCH is a resize (sent as one).
	case unix.SIGCHLD, unix.SIGPIPE, unix.SIGURG, unix.SIGWINCH:
		return "", false
	}
	name := unix.SignalName(s)
	return name, name != ""
}

package stream

import (
	"os"
	"os/signal"
	"syscall"
)

// notify subscribes ch to what a console delivers: ctrl-c and close.
func notify(ch chan<- os.Signal) { signal.Notify(ch, os.Interrupt, syscall.SIGTERM) }

func signalName(sig os.Signal) (string, bool) {
	switch sig {
	case os.Interrupt:
		return "SIGINT", true
	case syscall.SIGTERM:
		return "SIGTERM", true
	}
	return "", false
}

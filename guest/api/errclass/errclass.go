// Package errclass makes errors of a containerd/errdefs category (not
// found, invalid argument, ...) that read as their message alone: what a
// user sees is the sentence that says what failed and what to do, while
// errors.Is still finds the category, and the gRPC edges (guest/api/
// errstatus, host/agentclient) carry it across as a status code. The
// host, the drivers and the agent share it; choosing the category and
// wording the message is each caller's.
package errclass

import "fmt"

// Errorf returns an error that reads as the formatted message alone while
// errors.Is still finds class (an errdefs category) in it. A class that
// cannot carry a message of its own is kept after the message, wrapped.
func Errorf(class error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if wm, ok := class.(interface{ WithMessage(string) error }); ok {
		return wm.WithMessage(msg)
	}
	return fmt.Errorf("%s: %w", msg, class)
}

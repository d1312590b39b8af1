// Package tty handles the host's terminal for attached containers: raw
// mode (always restored by the caller's deferred restore), the terminal's
// size and its changes, and the detach key sequence that ends an
// attachment while the container runs on. Sending any of it to the agent
// is left to host/stream.
package tty

import (
	"errors"
	"fmt"

	"golang.org/x/term"
)

// Size is a terminal's size in character cells.
type Size struct {
	Width  uint16
	Height uint16
}

// fder is what *os.File offers; taking it rather than *os.File lets
// callers pass an io.Reader or io.Writer that may or may not be a file.
type fder interface{ Fd() uintptr }

func fd(v any) (int, bool) {
	f, ok := v.(fder)
	if !ok {
		return 0, false
	}
	return int(f.Fd()), true
}

// IsTerminal reports whether v is a file open on a terminal.
func IsTerminal(v any) bool {
	n, ok := fd(v)
	return ok && term.IsTerminal(n)
}

// GetSize returns the size of the terminal v, and false when v is not
// one.
func GetSize(v any) (Size, bool) {
	n, ok := fd(v)
	if !ok || !term.IsTerminal(n) {
		return Size{}, false
	}
	w, h, err := term.GetSize(n)
	if err != nil || w <= 0 || h <= 0 {
		return Size{}, false
	}
	return Size{Width: uint16(min(w, 0xffff)), Height: uint16(min(h, 0xffff))}, true
}

// ErrNotTerminal is returned for raw mode on something that is not a
// terminal.
var ErrNotTerminal = errors.New("not a terminal")

// MakeRaw puts the terminal v into raw mode, so keys such as ctrl-c reach
// the container instead of signalling skiff. The caller must call restore
// on every way out, or the user's shell is left unusable; restore may be
// called more than once.
func MakeRaw(v any) (restore func(), err error) {
	n, ok := fd(v)
	if !ok || !term.IsTerminal(n) {
		return nil, ErrNotTerminal
	}
	old, err := term.MakeRaw(n)
	if err != nil {
		return nil, fmt.Errorf("set terminal raw mode: %w", err)
	}
	undoVT := vtOutput()
	done := false
	return func() {
		if !done {
			done = true
			_ = term.Restore(n, old)
			undoVT()
		}
	}, nil
}

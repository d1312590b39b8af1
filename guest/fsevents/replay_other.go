//go:build !linux

package fsevents

import (
	"errors"
	"log/slog"
)

// ErrUnsupported is what replaying does where there is no Linux kernel to
// raise inotify events.
var ErrUnsupported = errors.New("file events are replayed only on Linux")

// Kernel replays changes through the guest's kernel; on this OS it
// cannot, and logs so once per batch.
type Kernel struct {
	Log *slog.Logger
}

var _ Replayer = (*Kernel)(nil)

// Replay fails: see ErrUnsupported.
func (k *Kernel) Replay([]Event, []string) { k.Log.Debug("replay file events", "err", ErrUnsupported) }

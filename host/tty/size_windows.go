package tty

import (
	"context"
	"time"
)

// pollInterval paces size checks: Windows consoles have no SIGWINCH.
const pollInterval = 250 * time.Millisecond

// WatchSize sends the terminal v's new size each time it changes, until
// ctx ends; then the channel closes.
func WatchSize(ctx context.Context, v any) <-chan Size {
	out := make(chan Size, 1)
	go func() {
		defer close(out)
		last, _ := GetSize(v)
		t := time.NewTicker(pollInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if s, ok := GetSize(v); ok && s != last {
				last = s
				select {
				case out <- s:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

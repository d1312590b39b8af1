//go:build !windows

package tty

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// WatchSize sends the terminal v's new size each time it changes, until
// ctx ends; then the channel closes. The kernel says so with SIGWINCH.
func WatchSize(ctx context.Context, v any) <-chan Size {
	out := make(chan Size, 1)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGWINCH)
	go func() {
		defer close(out)
		defer signal.Stop(sig)
		last, _ := GetSize(v)
		for {
			select {
			case <-ctx.Done():
				return
			case <-sig:
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

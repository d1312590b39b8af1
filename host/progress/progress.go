// Package progress shows long work while it runs. Show runs one step,
// such as booting a machine: on a terminal one line redrawn in place with
// the time taken so far, else a line when the step begins and one when it
// ends. Lines shows several items moving bytes at once, as docker pull
// does. What the work is and how its lines are worded is the caller's.
package progress

import (
	"fmt"
	"io"
	"time"
)

// Tick paces the redrawn line on a terminal.
const Tick = 100 * time.Millisecond

// Step is a step to show.
type Step struct {
	// Label says what runs ("Starting machine "default" (qemu, kvm)...");
	// it is asked again at each tick, so it may change as the step learns
	// more.
	Label func() string
	// Done is the line written when the step succeeds on a writer that
	// is not a terminal, given the time it took; on a terminal the label
	// is followed by "ready in".
	Done func(took time.Duration) string
}

// Show runs do and shows its progress on w (a terminal when terminal is
// set), returning do's error.
func Show(w io.Writer, terminal bool, s Step, do func() error) error {
	began := time.Now()
	done := make(chan error, 1)
	go func() { done <- do() }()
	if !terminal {
		fmt.Fprintln(w, s.Label())
		if err := <-done; err != nil {
			return err
		}
		fmt.Fprintln(w, s.Done(time.Since(began)))
		return nil
	}
	tick := time.NewTicker(Tick)
	defer tick.Stop()
	last := s.Label()
	for {
		select {
		case err := <-done:
			if err != nil {
				fmt.Fprintf(w, "\r\x1b[K%s failed after %.1fs\n", last, time.Since(began).Seconds())
				return err
			}
			fmt.Fprintf(w, "\r\x1b[K%s ready in %.1fs\n", last, time.Since(began).Seconds())
			return nil
		case <-tick.C:
			last = s.Label()
			fmt.Fprintf(w, "\r\x1b[K%s %.1fs", last, time.Since(began).Seconds())
		}
	}
}

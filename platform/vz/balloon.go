package vz

import (
	"context"
	"time"

	"github.com/skiffrun/skiff/platform"
)

const mib = 1 << 20

// balloonPolicy turns the guest's memory reports into the balloon's
// target: the memory the guest should keep. It keeps reserve bytes free
// in the guest, never goes below floor nor above assigned, and moves only
// by step or more, so that a guest whose use wavers is not resized at
// every report.
type balloonPolicy struct {
	assigned, floor, reserve, step uint64
}

// newBalloonPolicy is the policy for a machine assigned memory bytes: a
// floor of a quarter of it (at least 256 MiB), an eighth kept free (at
// least 128 MiB), steps of 64 MiB.
func newBalloonPolicy(assigned uint64) balloonPolicy {
	return balloonPolicy{
		assigned: assigned,
		floor:    min(assigned, max(assigned/4, 256*mib)),
		reserve:  max(assigned/8, 128*mib),
		step:     64 * mib,
	}
}

// next returns the target after report r, the target being current.
func (p balloonPolicy) next(current uint64, r platform.MemoryReport) uint64 {
	want := int64(current) - (int64(r.Available) - int64(p.reserve))
	want = max(want, int64(p.floor))
	want = min(want, int64(p.assigned))
	// The framework takes whole MiB.
	w := uint64(want) / mib * mib
	if w < p.floor {
		w = p.floor
	}
	d := int64(w) - int64(current)
	if d < 0 {
		d = -d
	}
	// A guest short of memory gets it at once; a release waits for a
	// step's worth.
	if w < current && uint64(d) < p.step || d == 0 {
		return current
	}
	return w
}

// balloonTarget is the balloon device's target memory size.
type balloonTarget interface {
	target() uint64
	setTarget(bytes uint64)
}

// balloonInterval is how often the guest is asked for its memory.
const balloonInterval = 5 * time.Second

// runBalloon steers t by p from report every interval until ctx ends. A
// failed report leaves the target as it is.
func runBalloon(ctx context.Context, p balloonPolicy, t balloonTarget, interval time.Duration, report func(context.Context) (platform.MemoryReport, error)) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		rctx, cancel := context.WithTimeout(ctx, interval)
		r, err := report(rctx)
		cancel()
		if err != nil || r.Total == 0 {
			continue
		}
		cur := t.target()
		if next := p.next(cur, r); next != cur {
			t.setTarget(next)
		}
	}
}

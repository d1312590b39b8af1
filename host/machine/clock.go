package machine

import (
	"context"
	"time"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// Clock keeping: the machine's clock is set from the host's after every
// connection, and checked every clockTick. The agent's SetTime answers
// with the machine's time before it was set, which is how drift is seen.
const (
	clockTick = 60 * time.Second
	// maxDrift is how far the two clocks may drift apart.
	maxDrift = time.Second
	// clockCheck is how often a machine that kept time is checked anyway.
	clockCheck = 10 * time.Minute
)

// clock decides when to set the machine's clock.
type clock struct {
	last      time.Time     // when the clock was last set, with its monotonic reading
	lastDrift time.Duration // how far off the machine was then
}

// due reports whether to set the clock at now: when the host's wall clock
// jumped against its monotonic clock since the last set (a suspend, which
// the monotonic clock does not count, or a step of the host's clock), when
// the machine was found drifting last time, or every clockCheck.
func (c *clock) due(now time.Time) bool {
	if c.last.IsZero() {
		return true
	}
	return c.dueAfter(now.Sub(c.last), now.Round(0).Sub(c.last.Round(0)))
}

// dueAfter is due given the monotonic and the wall time since the last set.
func (c *clock) dueAfter(mono, wall time.Duration) bool {
	return abs(wall-mono) > maxDrift || c.lastDrift > maxDrift || mono >= clockCheck
}

// set records a set at sent, when the machine's clock read previous.
func (c *clock) set(sent time.Time, previous time.Time) {
	c.last = sent
	c.lastDrift = abs(sent.Round(0).Sub(previous))
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// sync sets the machine's clock from the host's.
func (c *clock) sync(ctx context.Context, sys apiv1.SystemClient) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	now := time.Now()
	r, err := sys.SetTime(ctx, &apiv1.SetTimeRequest{UnixNano: now.UnixNano()})
	if err != nil {
		return err
	}
	c.set(now, time.Unix(0, r.GetPreviousUnixNano()))
	return nil
}

package machine

import (
	"testing"
	"time"
)

func TestClockDue(t *testing.T) {
	tests := []struct {
		name    string
		drift   time.Duration // found at the last set
		elapsed time.Duration // monotonic time since
		jump    time.Duration // wall time beyond the monotonic time
		want    bool
	}{
		{"in step, a minute later", 0, time.Minute, 0, false},
		{"small drift is fine", 300 * time.Millisecond, time.Minute, 0, false},
		{"drifting machine is set every tick", 3 * time.Second, time.Minute, 0, true},
		{"host suspended", 0, time.Minute, 2 * time.Hour, true},
		{"host clock stepped back", 0, time.Minute, -5 * time.Second, true},
		{"periodic check", 0, clockCheck, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{}
			base := time.Now()
			if !c.due(base) {
				t.Fatal("a new connection is not due a set")
			}
			c.set(base, base.Add(-tc.drift))
			if got := c.dueAfter(tc.elapsed, tc.elapsed+tc.jump); got != tc.want {
				t.Errorf("due = %v, want %v", got, tc.want)
			}
		})
	}
	c := &clock{}
	now := time.Now()
	c.set(now, now)
	if c.due(now.Add(time.Minute)) {
		t.Error("due a minute after a set with no drift")
	}
}

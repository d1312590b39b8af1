package vz

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/skiffrun/skiff/platform"
)

func TestBalloonPolicy(t *testing.T) {
	p := newBalloonPolicy(2048 * mib) // floor 512 MiB, reserve 256 MiB
	for _, tc := range []struct {
		name               string
		current, available uint64
		want               uint64
	}{
		{"idle guest gives back all but the reserve", 2048 * mib, 1200 * mib, 1104 * mib},
		{"never below the floor", 2048 * mib, 2000 * mib, 512 * mib},
		{"a small surplus waits", 1024 * mib, 300 * mib, 1024 * mib},
		{"a step's surplus is released", 1024 * mib, 400 * mib, 880 * mib},
		{"short of memory: raised at once", 600 * mib, 56 * mib, 800 * mib},
		{"never above what was assigned", 1900 * mib, 0, 2048 * mib},
		{"at the reserve: unchanged", 1000 * mib, 256 * mib, 1000 * mib},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := p.next(tc.current, platform.MemoryReport{Total: tc.current, Available: tc.available})
			if got != tc.want {
				t.Errorf("next(%d MiB, %d MiB free) = %d MiB, want %d MiB", tc.current/mib, tc.available/mib, got/mib, tc.want/mib)
			}
		})
	}
	small := newBalloonPolicy(256 * mib)
	if small.floor != 256*mib || small.next(256*mib, platform.MemoryReport{Total: 256 * mib, Available: 200 * mib}) != 256*mib {
		t.Errorf("a 256 MiB machine is ballooned below its size: %+v", small)
	}
}

type fakeBalloon struct {
	mu  sync.Mutex
	cur uint64
	set []uint64
}

func (f *fakeBalloon) target() uint64 { f.mu.Lock(); defer f.mu.Unlock(); return f.cur }
func (f *fakeBalloon) setTarget(b uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cur = b
	f.set = append(f.set, b)
}

// TestRunBalloon: the loop lowers the target as the guest reports memory
// to spare, ignores failed reports, gives memory back when the guest runs
// short, and ends with its context.
func TestRunBalloon(t *testing.T) {
	b := &fakeBalloon{cur: 2048 * mib}
	reports := []struct {
		r   platform.MemoryReport
		err error
	}{
		{r: platform.MemoryReport{Total: 2048 * mib, Available: 1200 * mib}}, // 2048-944 = 1104
		{err: errors.New("agent busy")},
		{r: platform.MemoryReport{Total: 1104 * mib, Available: 20 * mib}}, // 1104+236 = 1340
	}
	ctx, cancel := context.WithCancel(context.Background())
	var i int
	done := make(chan error, 1)
	go func() {
		done <- runBalloon(ctx, newBalloonPolicy(2048*mib), b, time.Millisecond, func(context.Context) (platform.MemoryReport, error) {
			if i == len(reports) {
				cancel()
				return platform.MemoryReport{}, context.Canceled
			}
			r := reports[i]
			i++
			return r.r, r.err
		})
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("runBalloon ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("runBalloon did not end with its context")
	}
	if len(b.set) != 2 || b.set[0] != 1104*mib || b.set[1] != 1340*mib {
		t.Errorf("targets set: %v MiB", mibs(b.set))
	}
}

func mibs(b []uint64) []uint64 {
	out := make([]uint64, len(b))
	for i, v := range b {
		out[i] = v / mib
	}
	return out
}

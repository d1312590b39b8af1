package fswatch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// collector gathers a Watcher's batches in the background.
type collector struct {
	mu     sync.Mutex
	events []Event
	rescan []string
}

func collect(t *testing.T, w *Watcher) *collector {
	t.Helper()
	c := &collector{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			b, err := w.Next(ctx)
			if err != nil {
				return
			}
			c.mu.Lock()
			c.events = append(c.events, b.Events...)
			c.rescan = append(c.rescan, b.Rescan...)
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return c
}

// wait waits for an event of p with change ch.
// count is how many events have come so far.
func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.events)
}

func (c *collector) wait(t *testing.T, p string, ch Change) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for _, ev := range c.events {
			if ev.Path == p && ev.Change == ch {
				c.mu.Unlock()
				return
			}
		}
		c.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t.Fatalf("no %v event for %s; got %+v", ch, p, c.events)
}

func (c *collector) waitRescan(t *testing.T, root string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for _, r := range c.rescan {
			if r == root {
				c.mu.Unlock()
				return
			}
		}
		c.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no rescan of %s", root)
}

func newWatcher(t *testing.T, opts Options) *Watcher {
	t.Helper()
	w, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func TestWatcherSeesChangesInTheTree(t *testing.T) {
	root := t.TempDir()
	w := newWatcher(t, Options{})
	w.Set([]string{root})
	c := collect(t, w)
	time.Sleep(50 * time.Millisecond) // the Set is applied

	a := filepath.Join(root, "a")
	if err := os.WriteFile(a, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.wait(t, a, Content)
	if err := os.Chmod(a, 0o600); err != nil {
		t.Fatal(err)
	}
	c.wait(t, a, Attrib)
	// A folder made later is watched too, and so is one made inside it
	// before its own watch could be added.
	sub := filepath.Join(root, "sub", "deeper")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	c.wait(t, sub, Content)
	time.Sleep(50 * time.Millisecond)
	f := filepath.Join(sub, "f")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c.wait(t, f, Content)
	g := filepath.Join(root, "g")
	if err := os.Rename(a, g); err != nil {
		t.Fatal(err)
	}
	c.wait(t, a, Gone)
	c.wait(t, g, Content)
	if err := os.Remove(g); err != nil {
		t.Fatal(err)
	}
	c.wait(t, g, Gone)
}

func TestWatcherSendsAPathOnceForABurstOfChanges(t *testing.T) {
	root := t.TempDir()
	w := newWatcher(t, Options{Window: 50 * time.Millisecond})
	w.Set([]string{root})
	c := collect(t, w)
	time.Sleep(50 * time.Millisecond)
	a := filepath.Join(root, "a")
	f, err := os.Create(a)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		_, _ = f.WriteString("more")
	}
	f.Close()
	c.wait(t, a, Content)
	time.Sleep(200 * time.Millisecond)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.events) != 1 {
		t.Fatalf("got %d events, want 1: %+v", len(c.events), c.events)
	}
}

func TestWatcherPollsWhenTheHostRunsOutOfWatches(t *testing.T) {
	root := t.TempDir()
	for i := range 5 {
		if err := os.MkdirAll(filepath.Join(root, fmt.Sprintf("d%d", i)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var warnings []string
	var w *Watcher
	added := 0
	w = newWatcher(t, Options{
		PollEvery: 50 * time.Millisecond,
		Logf: func(format string, args ...any) {
			mu.Lock()
			warnings = append(warnings, fmt.Sprintf(format, args...))
			mu.Unlock()
		},
		add: func(p string) error {
			if added >= 2 {
				return fmt.Errorf("inotify_add_watch: %w", syscall.ENOSPC)
			}
			added++
			return w.fsw.Add(p)
		},
	})
	w.Set([]string{root})
	c := collect(t, w)
	time.Sleep(100 * time.Millisecond)
	// d4 is walked last, so it is polled.
	p := filepath.Join(root, "d4", "new")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c.wait(t, p, Content)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	c.wait(t, p, Gone)
	mu.Lock()
	defer mu.Unlock()
	if len(warnings) != 1 || !strings.Contains(warnings[0], limitName) {
		t.Fatalf("warnings = %q, want one naming %s", warnings, limitName)
	}
}

func TestWatcherOutlivesItsRoot(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "share")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	w := newWatcher(t, Options{PollEvery: 50 * time.Millisecond})
	w.Set([]string{root, filepath.Join(parent, "not-yet")})
	c := collect(t, w)
	time.Sleep(50 * time.Millisecond)
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	c.wait(t, root, Gone)
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	c.waitRescan(t, root)
	time.Sleep(50 * time.Millisecond)
	p := filepath.Join(root, "back")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c.wait(t, p, Content)
	// A root that was missing at the start is watched once it is there.
	late := filepath.Join(parent, "not-yet")
	if err := os.Mkdir(late, 0o755); err != nil {
		t.Fatal(err)
	}
	c.waitRescan(t, late)
}

func TestWatcherSetReplacesTheRoots(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	w := newWatcher(t, Options{})
	w.Set([]string{a})
	c := collect(t, w)
	time.Sleep(50 * time.Millisecond)
	w.Set([]string{b})
	time.Sleep(50 * time.Millisecond)
	if err := os.WriteFile(filepath.Join(a, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	pb := filepath.Join(b, "y")
	if err := os.WriteFile(pb, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c.wait(t, pb, Content)
	time.Sleep(50 * time.Millisecond)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ev := range c.events {
		if strings.HasPrefix(ev.Path, a) {
			t.Fatalf("an event of a root no longer watched: %+v", ev)
		}
	}
}

// BenchmarkHostLatency measures the host side's own delay: from a write
// on the host to the Watcher handing its event over (fsnotify's delivery
// and the coalescing window), as the median per event.
func BenchmarkHostLatency(b *testing.B) {
	root := b.TempDir()
	w, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	w.Set([]string{root})
	time.Sleep(50 * time.Millisecond)
	ctx := context.Background()
	var took []time.Duration
	for i := 0; b.Loop(); i++ {
		p := filepath.Join(root, fmt.Sprintf("f%d", i))
		start := time.Now()
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			b.Fatal(err)
		}
		for {
			batch, err := w.Next(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if len(batch.Events) > 0 && batch.Events[len(batch.Events)-1].Path == p {
				break
			}
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "median-ms/event")
}

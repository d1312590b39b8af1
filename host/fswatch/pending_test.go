package fswatch

import (
	"fmt"
	"testing"
	"time"
)

// fakeFS is a stat function over states a test sets.
type fakeFS map[string]state

func (f fakeFS) stat(p string) state { return f[p] }

func TestPendingCoalescesAPathWithinTheWindow(t *testing.T) {
	fs := fakeFS{"/r/a": {exists: true, size: 3, mtime: 1}}
	q := newPending(5*time.Millisecond, fs.stat)
	t0 := time.Unix(100, 0)
	q.add("/r/a", "/r", opCreate, t0)
	q.add("/r/a", "/r", opWrite, t0.Add(time.Millisecond))
	q.add("/r/a", "/r", opChmod, t0.Add(2*time.Millisecond))
	if b := q.take(t0.Add(4*time.Millisecond), maxBatch); len(b.Events) != 0 {
		t.Fatalf("sent before the window: %+v", b)
	}
	due, ok := q.next()
	if !ok || !due.Equal(t0.Add(5*time.Millisecond)) {
		t.Fatalf("next = %v %v, want the first change plus the window", due, ok)
	}
	b := q.take(t0.Add(5*time.Millisecond), maxBatch)
	if len(b.Events) != 1 || b.Events[0].Change != Content || b.Events[0].Path != "/r/a" || !b.Events[0].Seen.Equal(t0) {
		t.Fatalf("batch = %+v, want one content event for /r/a seen at the first change", b)
	}
	if _, ok := q.next(); ok {
		t.Fatal("something still waits")
	}
}

func TestPendingChanges(t *testing.T) {
	t0 := time.Unix(100, 0)
	for _, tc := range []struct {
		name  string
		ops   op
		had   *state
		now   state
		want  Change
		none  bool
		isDir bool
	}{
		{name: "created", ops: opCreate, now: state{exists: true}, want: Content},
		{name: "written", ops: opWrite, had: &state{exists: true, size: 1}, now: state{exists: true, size: 2}, want: Content},
		{name: "chmod", ops: opChmod, had: &state{exists: true, mode: 0o644}, now: state{exists: true, mode: 0o600}, want: Attrib},
		{name: "chmod that came with a write", ops: opChmod, had: &state{exists: true, mtime: 1}, now: state{exists: true, mtime: 2}, want: Content},
		{name: "removed", ops: opRemove, had: &state{exists: true}, now: state{}, want: Gone},
		{name: "removed folder", ops: opRemove, had: &state{exists: true, dir: true}, now: state{}, want: Gone, isDir: true},
		{name: "renamed away", ops: opRename, now: state{}, want: Gone},
		{name: "the agent's own replay", ops: opWrite | opChmod, had: &state{exists: true, size: 5, mtime: 7}, now: state{exists: true, size: 5, mtime: 7}, none: true},
		{name: "made and gone before it was sent", ops: opCreate | opWrite, now: state{}, none: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := fakeFS{"/r/a": tc.now}
			q := newPending(time.Millisecond, fs.stat)
			if tc.had != nil {
				q.sent["/r/a"] = sentState{state: *tc.had, at: t0}
			}
			q.add("/r/a", "/r", tc.ops, t0)
			b := q.take(t0.Add(time.Second), maxBatch)
			if tc.none {
				if len(b.Events) != 0 {
					t.Fatalf("got %+v, want nothing", b.Events)
				}
				return
			}
			if len(b.Events) != 1 || b.Events[0].Change != tc.want || b.Events[0].Dir != tc.isDir {
				t.Fatalf("got %+v, want one %v (dir %v)", b.Events, tc.want, tc.isDir)
			}
		})
	}
}

func TestPendingLeavesOutTheEchoOfAReplay(t *testing.T) {
	fs := fakeFS{"/r/a": {exists: true, size: 1, mtime: 10}, "/r": {exists: true, dir: true, mtime: 3}}
	q := newPending(time.Millisecond, fs.stat)
	t0 := time.Unix(100, 0)
	q.add("/r/a", "/r", opWrite, t0)
	if b := q.take(t0.Add(time.Second), maxBatch); len(b.Events) != 1 {
		t.Fatalf("first write: %+v", b)
	}
	// The agent sets the file's mtime to what it is: the host sees a write.
	q.add("/r/a", "/r", opWrite, t0.Add(2*time.Second))
	if b := q.take(t0.Add(3*time.Second), maxBatch); len(b.Events) != 0 {
		t.Fatalf("the replay came back: %+v", b)
	}
	// A real write afterwards is sent.
	fs["/r/a"] = state{exists: true, size: 2, mtime: 11}
	q.add("/r/a", "/r", opWrite, t0.Add(4*time.Second))
	if b := q.take(t0.Add(5*time.Second), maxBatch); len(b.Events) != 1 {
		t.Fatalf("a later write was lost: %+v", b)
	}
	// Removal: the agent touches the parent, which comes back as a write
	// of the parent that is not sent.
	delete(fs, "/r/a")
	q.add("/r/a", "/r", opRemove, t0.Add(6*time.Second))
	if b := q.take(t0.Add(7*time.Second), maxBatch); len(b.Events) != 1 || b.Events[0].Change != Gone {
		t.Fatalf("removal: %+v", b)
	}
	q.add("/r", "/r", opWrite, t0.Add(8*time.Second))
	if b := q.take(t0.Add(9*time.Second), maxBatch); len(b.Events) != 0 {
		t.Fatalf("the parent's replay came back: %+v", b)
	}
}

func TestPendingOverflowsToARescan(t *testing.T) {
	fs := fakeFS{}
	q := newPending(time.Millisecond, fs.stat)
	t0 := time.Unix(100, 0)
	for i := range MaxPending + 5000 {
		p := fmt.Sprintf("/r/f%d", i)
		fs[p] = state{exists: true}
		q.add(p, "/r", opCreate, t0)
		if len(q.paths) > MaxPending || len(q.order) > MaxPending {
			t.Fatalf("%d paths wait, more than %d", len(q.paths), MaxPending)
		}
	}
	fs["/s/x"] = state{exists: true}
	q.add("/s/x", "/s", opCreate, t0)
	b := q.take(t0.Add(time.Second), maxBatch)
	if len(b.Rescan) != 1 || b.Rescan[0] != "/r" {
		t.Fatalf("rescan = %v, want [/r]", b.Rescan)
	}
	if len(b.Events) != 1 || b.Events[0].Path != "/s/x" {
		t.Fatalf("events = %+v, want /s/x's alone", b.Events)
	}
	// Changes after the rescan was sent are sent again one by one.
	q.add("/r/f1", "/r", opWrite, t0.Add(2*time.Second))
	fs["/r/f1"] = state{exists: true, size: 1}
	if b := q.take(t0.Add(3*time.Second), maxBatch); len(b.Events) != 1 {
		t.Fatalf("after the rescan: %+v", b)
	}
}

func TestPendingBoundsTheEchoFilter(t *testing.T) {
	fs := fakeFS{}
	q := newPending(time.Millisecond, fs.stat)
	t0 := time.Unix(100, 0)
	for i := range maxSent * 2 {
		p := fmt.Sprintf("/r/f%d", i)
		fs[p] = state{exists: true}
		q.add(p, "/r", opCreate, t0)
		q.take(t0.Add(time.Second), maxBatch)
	}
	if len(q.sent) > maxSent {
		t.Fatalf("the echo filter holds %d paths, more than %d", len(q.sent), maxSent)
	}
}

func TestPendingTakesAWholeSecondMtimeLongAfterForTheHosts(t *testing.T) {
	t0 := time.Unix(100, 0)
	sent := state{exists: true, size: 1, mtime: 7_250_000_000}
	for _, tc := range []struct {
		name    string
		after   time.Duration
		setBack bool
	}{
		{"the replay's, just after", 10 * time.Millisecond, true},
		{"the host's, long after", replayWithin + time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := fakeFS{"/r/a": {exists: true, size: 1, mtime: 7_000_000_000}}
			q := newPending(time.Millisecond, fs.stat)
			var set []int64
			q.setMtime = func(p string, mtime int64) error {
				set = append(set, mtime)
				return nil
			}
			q.sent["/r/a"] = sentState{state: sent, at: t0}
			q.add("/r/a", "/r", opChmod, t0.Add(tc.after))
			b := q.take(t0.Add(tc.after+time.Millisecond), maxBatch)
			if tc.setBack {
				if len(b.Events) != 0 || len(set) != 1 || set[0] != sent.mtime {
					t.Fatalf("events %+v, mtimes set %v: want none sent and the mtime set back to %d", b.Events, set, sent.mtime)
				}
				return
			}
			if len(b.Events) != 1 || b.Events[0].Change != Content || len(set) != 0 {
				t.Fatalf("events %+v, mtimes set %v: want one content event and no mtime set", b.Events, set)
			}
		})
	}
}

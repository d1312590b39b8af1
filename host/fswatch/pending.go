package fswatch

import (
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Bounds of a Watcher's memory, whatever the host throws at it: a storm
// of changes (a git checkout of 10,000 files) costs at most MaxPending
// paths waiting to be sent, and the echo filter remembers at most
// maxSent; each entry is a path and a few words (under 300 bytes for
// paths of 200), so a Watcher holds under 4 MB for its queue and filter
// beyond the directory listings it polls (see Watcher).
const (
	// MaxPending is how many changed paths may wait for the agent; one
	// more and the waiting ones are dropped for a rescan of their roots.
	MaxPending = 4096
	// maxSent is how many paths' last-sent states the echo filter keeps.
	maxSent = 8192
	// replayWithin is how long after a path was sent an mtime cut to
	// the second is taken for the replay's (see wholeSecondEcho); the
	// agent replays a batch within milliseconds.
	replayWithin = 10 * time.Second
)

// Change is what became of a path.
type Change int

// Changes, as FileChange on the wire.
const (
	// Content: created or written.
	Content Change = iota + 1
	// Attrib: only metadata changed.
	Attrib
	// Gone: removed or renamed away.
	Gone
)

func (c Change) String() string {
	switch c {
	case Content:
		return "content"
	case Attrib:
		return "attrib"
	case Gone:
		return "gone"
	}
	return "unknown"
}

// Event is a change to one host path, its changes within the window taken
// together.
type Event struct {
	// Path is the host path.
	Path   string
	Change Change
	Dir    bool
	// Seen is when the first change to it in this batch was seen.
	Seen time.Time
}

// Batch is what a Watcher hands over at once.
type Batch struct {
	Events []Event
	// Rescan are roots whose changes were dropped (too many, or the
	// host's queue overflowed): the agent signals the root instead.
	Rescan []string
}

// op is what the host said happened to a path, as bits.
type op uint8

const (
	opCreate op = 1 << iota
	opWrite
	opRemove
	opRename
	opChmod
)

// state is what of a path's metadata tells one change from none: an
// event whose path looks as it did when last sent is the agent's own
// replay coming back (it sets times and modes to what they already are,
// which touches only ctime), or a change that changed nothing.
type state struct {
	exists bool
	dir    bool
	mode   fs.FileMode
	size   int64
	mtime  int64
	ino    uint64
}

// wholeSecond is st with its mtime cut to the second, as a guest kernel
// whose file system keeps whole seconds (9p's) sets it.
func (st state) wholeSecond() state {
	st.mtime -= (st.mtime%1e9 + 1e9) % 1e9
	return st
}

// sentState is a path's state when it was last sent, and when that was.
type sentState struct {
	state
	at time.Time
}

func lstat(p string) state {
	fi, err := os.Lstat(p)
	if err != nil {
		return state{}
	}
	return state{exists: true, dir: fi.IsDir(), mode: fi.Mode(), size: fi.Size(), mtime: fi.ModTime().UnixNano(), ino: inode(fi)}
}

type entry struct {
	ops  op
	seen time.Time
	root string
}

// pending coalesces changes per path until they have been still for the
// window, and filters out echoes. It is not safe for concurrent use (a
// Watcher's loop owns it).
type pending struct {
	window time.Duration
	stat   func(string) state
	// setMtime sets a path's mtime (ns since the epoch) back after a
	// replay cut it to the second.
	setMtime func(p string, mtime int64) error
	paths    map[string]*entry
	order    []string // paths in the order first seen, for fair batches
	rescan   map[string]bool
	sent     map[string]sentState
}

func newPending(window time.Duration, stat func(string) state) *pending {
	return &pending{window: window, stat: stat, paths: map[string]*entry{}, rescan: map[string]bool{}, sent: map[string]sentState{}, setMtime: setMtime}
}

// add records o on path p, under root. When MaxPending paths already
// wait, they and p are dropped and their roots marked for a rescan.
func (q *pending) add(p, root string, o op, now time.Time) {
	if q.rescan[root] {
		return
	}
	if e := q.paths[p]; e != nil {
		e.ops |= o
		return
	}
	if len(q.paths) >= MaxPending {
		q.overflow(root)
		return
	}
	q.paths[p] = &entry{ops: o, seen: now, root: root}
	q.order = append(q.order, p)
}

// overflow drops every waiting path for a rescan of its root, and of root.
func (q *pending) overflow(root string) {
	q.rescan[root] = true
	for _, e := range q.paths {
		q.rescan[e.root] = true
	}
	clear(q.paths)
	q.order = q.order[:0]
}

// rescanAll marks roots for a rescan, dropping what waits in them.
func (q *pending) rescanAll(roots []string) {
	for _, r := range roots {
		q.rescan[r] = true
	}
	kept := q.order[:0]
	for _, p := range q.order {
		if e := q.paths[p]; e != nil && q.rescan[e.root] {
			delete(q.paths, p)
			continue
		}
		kept = append(kept, p)
	}
	q.order = kept
}

// next is when the next path is due, and false when none waits.
func (q *pending) next() (time.Time, bool) {
	if len(q.rescan) > 0 {
		return time.Time{}, true
	}
	for _, p := range q.order {
		if e := q.paths[p]; e != nil {
			return e.seen.Add(q.window), true
		}
	}
	return time.Time{}, false
}

// take returns the paths that have waited the window by now, at most
// max, with the echoes left out, and the roots to rescan.
func (q *pending) take(now time.Time, max int) Batch {
	var b Batch
	for r := range q.rescan {
		b.Rescan = append(b.Rescan, r)
		// The agent touches the root to signal it: that comes back.
		q.remember(r, q.stat(r), now)
	}
	clear(q.rescan)
	n := 0
	for _, p := range q.order {
		e := q.paths[p]
		if e == nil {
			n++
			continue
		}
		if len(b.Events) >= max || now.Sub(e.seen) < q.window {
			break
		}
		n++
		delete(q.paths, p)
		if ev, ok := q.event(p, e, now); ok {
			b.Events = append(b.Events, ev)
		}
	}
	q.order = append(q.order[:0], q.order[n:]...)
	return b
}

// event makes the event of path p, or reports false for an echo.
func (q *pending) event(p string, e *entry, now time.Time) (Event, bool) {
	st := q.stat(p)
	last, had := q.sent[p]
	if had && last.state == st {
		return Event{}, false
	}
	if had && q.wholeSecondEcho(p, last, st, now) {
		return Event{}, false
	}
	if !had && !st.exists && e.ops&(opCreate|opWrite|opChmod) != 0 && e.ops&(opRemove|opRename) == 0 {
		// Created and gone again before it was sent, or never there: the
		// parent changed, and says so itself.
		return Event{}, false
	}
	q.remember(p, st, now)
	ev := Event{Path: p, Seen: e.seen, Dir: st.dir}
	switch {
	case !st.exists:
		ev.Change, ev.Dir = Gone, last.dir
		// The agent signals the parent for a path that is gone: that
		// comes back too.
		if parent := filepath.Dir(p); parent != p {
			q.remember(parent, q.stat(parent), now)
		}
	case e.ops&(opCreate|opWrite|opRename|opRemove) != 0,
		had && (last.size != st.size || last.mtime != st.mtime || last.ino != st.ino):
		ev.Change = Content
	default:
		ev.Change = Attrib
	}
	return ev, true
}

// wholeSecondEcho reports whether st, p's state now, is the agent's
// replay of last, its state when sent, through a share whose guest
// file system keeps times to the second: the guest's 9p (Linux 6.1's
// sets no time granularity, so the kernel cuts every time set through
// it to the second) turns the replay's "mtime to the value it has" into
// that value without its fraction, which the host then has. Left so,
// the host would send the change as new, the agent replay it once more,
// and the file would look older than it is (to make, to an editor). So
// the mtime is set back, and the change is the echo it is. A host write
// landing between the look and the setting back (microseconds) is the
// one race, as on the guest's side; an mtime set to exactly that second
// on the host, with nothing else changed, long after the path was sent
// is the host's own.
func (q *pending) wholeSecondEcho(p string, last sentState, st state, now time.Time) bool {
	if !st.exists || last.state.wholeSecond() != st || now.Sub(last.at) > replayWithin {
		return false
	}
	// Failing (the file made read-only since), the cut time stays: it
	// is still the echo.
	_ = q.setMtime(p, last.mtime)
	return true
}

// setMtime sets p's mtime, leaving its atime. A link is left alone:
// os.Chtimes would set its target's.
func setMtime(p string, mtime int64) error {
	if fi, err := os.Lstat(p); err != nil || fi.Mode()&fs.ModeSymlink != 0 {
		return err
	}
	return os.Chtimes(p, time.Time{}, time.Unix(0, mtime))
}

// remember records st as p's last-sent state, at now, forgetting an
// arbitrary other path's when the filter is full.
func (q *pending) remember(p string, st state, now time.Time) {
	if _, ok := q.sent[p]; !ok && len(q.sent) >= maxSent {
		for k := range q.sent {
			delete(q.sent, k)
			break
		}
	}
	q.sent[p] = sentState{state: st, at: now}
}

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
	paths  map[string]*entry
	order  []string // paths in the order first seen, for fair batches
	rescan map[string]bool
	sent   map[string]state
}

func newPending(window time.Duration, stat func(string) state) *pending {
	return &pending{window: window, stat: stat, paths: map[string]*entry{}, rescan: map[string]bool{}, sent: map[string]state{}}
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
		q.remember(r, q.stat(r))
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
		if ev, ok := q.event(p, e); ok {
			b.Events = append(b.Events, ev)
		}
	}
	q.order = append(q.order[:0], q.order[n:]...)
	return b
}

// event makes the event of path p, or reports false for an echo.
func (q *pending) event(p string, e *entry) (Event, bool) {
	st := q.stat(p)
	last, had := q.sent[p]
	if had && last == st {
		return Event{}, false
	}
	if !had && !st.exists && e.ops&(opCreate|opWrite|opChmod) != 0 && e.ops&(opRemove|opRename) == 0 {
		// Created and gone again before it was sent, or never there: the
		// parent changed, and says so itself.
		return Event{}, false
	}
	q.remember(p, st)
	ev := Event{Path: p, Seen: e.seen, Dir: st.dir}
	switch {
	case !st.exists:
		ev.Change, ev.Dir = Gone, last.dir
		// The agent signals the parent for a path that is gone: that
		// comes back too.
		if parent := filepath.Dir(p); parent != p {
			q.remember(parent, q.stat(parent))
		}
	case e.ops&(opCreate|opWrite|opRename|opRemove) != 0,
		had && (last.size != st.size || last.mtime != st.mtime || last.ino != st.ino):
		ev.Change = Content
	default:
		ev.Change = Attrib
	}
	return ev, true
}

// remember records st as p's last-sent state, forgetting an arbitrary
// other path's when the filter is full.
func (q *pending) remember(p string, st state) {
	if _, ok := q.sent[p]; !ok && len(q.sent) >= maxSent {
		for k := range q.sent {
			delete(q.sent, k)
			break
		}
	}
	q.sent[p] = st
}

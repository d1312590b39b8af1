// Package fswatch is the host side of file events in a machine's shared
// folders: it watches the host folders the agent names (those running
// containers bind-mount), recursively, with fsnotify (inotify on Linux,
// kqueue on macOS, ReadDirectoryChangesW on Windows), coalesces each
// path's changes over a short window, leaves out the echoes of the
// agent's own replays (setting back an mtime a replay through 9p cut to
// the second), and serves the result to the agent as the
// FileEvents service (fileevents.proto) over the session, through
// host/hostsvc. Replaying the changes in the guest is guest/fsevents'.
//
// fsnotify is not recursive: a Watcher adds a watch for each folder of a
// tree, and for each folder made in it later. When the host runs out of
// watches (inotify's fs.inotify.max_user_watches, kqueue's descriptors) it
// logs one warning naming the limit and polls the folders it could not
// watch instead, every PollEvery. A root that is missing, or goes away, is
// looked for again at each poll, and watched from when it is back.
//
// Memory is bounded whatever the host does: at most MaxPending paths wait
// to be sent; past that they are dropped and their roots sent for a
// rescan instead, which the agent signals once. Polled folders cost
// their listings.
package fswatch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Defaults of Options.
const (
	// DefaultWindow is how long a path's changes are gathered before they
	// are sent: an editor's save (write, chmod, rename) is one event, and
	// the host side adds no more than this to the latency.
	DefaultWindow = 5 * time.Millisecond
	// DefaultPollEvery is how often folders that could not be watched,
	// and missing roots, are looked at.
	DefaultPollEvery = 2 * time.Second
	// maxBatch is the most events one Batch carries.
	maxBatch = 1024
)

// ErrClosed is returned by Next once the Watcher is closed.
var ErrClosed = errors.New("file watcher closed")

// Options tune a Watcher; the zero value is the defaults.
type Options struct {
	Window    time.Duration
	PollEvery time.Duration
	// Logf logs warnings; log.Printf when nil.
	Logf func(format string, args ...any)

	// add adds a watch; fsnotify's when nil (tests fail it).
	add func(string) error
}

// Watcher watches a set of folder trees. Set, Next and Close are safe
// for concurrent use; Next is meant for one caller at a time.
type Watcher struct {
	opts Options
	fsw  *fsnotify.Watcher
	set  chan []string
	req  chan chan Batch
	done chan struct{}
	once sync.Once
	quit chan struct{} // closed when loop has returned

	// Owned by loop.
	roots   []string            // watched roots, none inside another
	missing map[string]bool     // roots not there now
	watched map[string]bool     // folders with a watch
	polled  map[string]dirState // folders polled instead, and their listing
	q       *pending
	warned  bool
}

// dirState is a polled folder's listing: each entry's state by name.
type dirState map[string]state

// New starts a Watcher with nothing to watch.
func New(opts Options) (*Watcher, error) {
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.PollEvery <= 0 {
		opts.PollEvery = DefaultPollEvery
	}
	if opts.Logf == nil {
		opts.Logf = log.Printf
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch host folders: %w", err)
	}
	if opts.add == nil {
		opts.add = fsw.Add
	}
	w := &Watcher{
		opts: opts, fsw: fsw,
		set: make(chan []string), req: make(chan chan Batch), done: make(chan struct{}), quit: make(chan struct{}),
		missing: map[string]bool{}, watched: map[string]bool{}, polled: map[string]dirState{},
		q: newPending(opts.Window, lstat),
	}
	go w.loop()
	return w, nil
}

// Set makes roots (absolute host paths) the trees watched, in place of
// those before.
func (w *Watcher) Set(roots []string) {
	select {
	case w.set <- slices.Clone(roots):
	case <-w.done:
	}
}

// Next returns the next batch of changes, waiting for one until ctx ends.
func (w *Watcher) Next(ctx context.Context) (Batch, error) {
	reply := make(chan Batch, 1)
	select {
	case w.req <- reply:
	case <-ctx.Done():
		return Batch{}, ctx.Err()
	case <-w.done:
		return Batch{}, ErrClosed
	}
	select {
	case b := <-reply:
		return b, nil
	case <-ctx.Done():
		return Batch{}, ctx.Err()
	case <-w.done:
		return Batch{}, ErrClosed
	}
}

// Close stops watching. It is idempotent.
func (w *Watcher) Close() error {
	w.once.Do(func() { close(w.done) })
	<-w.quit
	return nil
}

func (w *Watcher) loop() {
	defer close(w.quit)
	defer func() { _ = w.fsw.Close() }()
	events, errs := w.fsw.Events, w.fsw.Errors
	var waiting chan Batch
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	poll := time.NewTicker(w.opts.PollEvery)
	defer poll.Stop()
	for {
		if waiting != nil {
			now := time.Now()
			if due, ok := w.q.next(); ok && !due.After(now) {
				if b := w.q.take(now, maxBatch); len(b.Events) > 0 || len(b.Rescan) > 0 {
					waiting <- b
					waiting = nil
				}
			}
		}
		timer.Stop()
		if due, ok := w.q.next(); ok && waiting != nil {
			timer.Reset(time.Until(due))
		}
		select {
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			w.handle(ev, time.Now())
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				// The host dropped events: every root may have changed.
				w.q.rescanAll(w.roots)
				continue
			}
			w.opts.Logf("skiff: watch shared folders: %v", err)
		case roots := <-w.set:
			w.apply(roots)
		case r := <-w.req:
			waiting = r
		case <-timer.C:
		case <-poll.C:
			w.poll(time.Now())
		case <-w.done:
			return
		}
	}
}

// handle records one fsnotify event.
func (w *Watcher) handle(ev fsnotify.Event, now time.Time) {
	p := ev.Name
	root := w.rootOf(p)
	if root == "" {
		return
	}
	var o op
	if ev.Has(fsnotify.Create) {
		o |= opCreate
	}
	if ev.Has(fsnotify.Write) {
		o |= opWrite
	}
	if ev.Has(fsnotify.Remove) {
		o |= opRemove
	}
	if ev.Has(fsnotify.Rename) {
		o |= opRename
	}
	if ev.Has(fsnotify.Chmod) {
		o |= opChmod
	}
	if o&(opRemove|opRename) != 0 {
		w.drop(p)
		if p == root {
			w.missing[root] = true
		}
	}
	w.q.add(p, root, o, now)
	if o&opCreate != 0 {
		if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
			// What was made in it before its watch was added is reported
			// as made too.
			w.addTree(p, root, true, now)
		}
	}
}

// apply makes roots the watched trees.
func (w *Watcher) apply(roots []string) {
	var top []string
	for _, r := range roots {
		top = append(top, filepath.Clean(r))
	}
	slices.Sort(top)
	top = slices.Compact(top)
	top = slices.DeleteFunc(top, func(r string) bool {
		return slices.ContainsFunc(top, func(o string) bool { return o != r && under(r, o) })
	})
	for _, r := range w.roots {
		if !slices.Contains(top, r) {
			w.drop(r)
			delete(w.missing, r)
		}
	}
	old := w.roots
	w.roots = top
	for _, r := range top {
		if slices.Contains(old, r) {
			continue
		}
		if fi, err := os.Stat(r); err != nil || !fi.IsDir() {
			w.missing[r] = true
			continue
		}
		w.addTree(r, r, false, time.Now())
	}
}

// addTree watches the folders of the tree at dir; with report, what it
// finds below dir is recorded as created.
func (w *Watcher) addTree(dir, root string, report bool, now time.Time) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil
		}
		if report && p != dir {
			w.q.add(p, root, opCreate, now)
		}
		if d.IsDir() {
			w.watch(p)
		}
		return nil
	})
}

// watch adds a watch for folder d, or polls it when the host has no more.
func (w *Watcher) watch(d string) {
	if w.watched[d] || w.polled[d] != nil {
		return
	}
	err := w.opts.add(d)
	switch {
	case err == nil:
		w.watched[d] = true
	case limitHit(err):
		if !w.warned {
			w.warned = true
			w.opts.Logf("skiff: the host ran out of file watches at %s (%v): raise %s; changes in the folders left over are polled every %s", d, err, limitName, w.opts.PollEvery)
		}
		w.polled[d] = listDir(d)
	}
}

// drop stops watching p and everything under it.
func (w *Watcher) drop(p string) {
	if !w.watched[p] && w.polled[p] == nil && !slices.ContainsFunc(w.roots, func(r string) bool { return r == p || under(r, p) }) {
		return
	}
	for d := range w.watched {
		if d == p || under(d, p) {
			_ = w.fsw.Remove(d)
			delete(w.watched, d)
		}
	}
	for d := range w.polled {
		if d == p || under(d, p) {
			delete(w.polled, d)
		}
	}
}

// poll looks for missing roots and at the polled folders.
func (w *Watcher) poll(now time.Time) {
	for r := range w.missing {
		if fi, err := os.Stat(r); err == nil && fi.IsDir() {
			delete(w.missing, r)
			w.addTree(r, r, false, now)
			w.q.rescanAll([]string{r})
		}
	}
	for d, before := range w.polled {
		root := w.rootOf(d)
		after := listDir(d)
		if after == nil {
			delete(w.polled, d)
			continue
		}
		w.polled[d] = after
		for name, st := range after {
			old, had := before[name]
			p := filepath.Join(d, name)
			switch {
			case !had:
				w.q.add(p, root, opCreate, now)
				if st.dir {
					w.addTree(p, root, true, now)
				}
			case old != st:
				w.q.add(p, root, opWrite, now)
			}
		}
		for name := range before {
			if _, ok := after[name]; !ok {
				p := filepath.Join(d, name)
				w.drop(p)
				w.q.add(p, root, opRemove, now)
			}
		}
	}
}

// listDir lists folder d, or returns nil when it cannot be read.
func listDir(d string) dirState {
	ents, err := os.ReadDir(d)
	if err != nil {
		return nil
	}
	ls := make(dirState, len(ents))
	for _, e := range ents {
		ls[e.Name()] = lstat(filepath.Join(d, e.Name()))
	}
	return ls
}

// rootOf is the watched root p is in, or "".
func (w *Watcher) rootOf(p string) string {
	for _, r := range w.roots {
		if p == r || under(p, r) {
			return r
		}
	}
	return ""
}

// under reports whether p is below dir.
func under(p, dir string) bool {
	if !strings.HasSuffix(dir, string(filepath.Separator)) {
		dir += string(filepath.Separator)
	}
	return strings.HasPrefix(p, dir)
}

package container

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/skiffrun/skiff/guest/api/atomicfile"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/events"
)

// ImageSource resolves the image a container is created from; a missing
// image is an errdefs not-found error.
type ImageSource interface {
	Image(ctx context.Context, ref string) (*Image, error)
}

// Image is what a container needs of its image.
type Image struct {
	// ID is the digest of the image's config.
	ID     string
	Config *apiv1.ImageConfig
	// Layers are the unpacked layer directories, lowest first.
	Layers []string
	// OS, Architecture and Variant are the platform the image was built
	// for ("linux", "arm64", "v8"); empty when it does not say.
	OS, Architecture, Variant string
}

// recordFile is the container's record in its directory. A directory
// without one is a create that did not finish, and is removed at start.
const recordFile = "container.json"

// Manager owns every container of the agent. Its methods are safe for
// concurrent use.
type Manager struct {
	root   string
	rt     Runtime
	images ImageSource
	log    *slog.Logger
	// volumes keeps the volumes containers mount.
	volumes VolumeStore
	// net gives containers their networks; nil means loopback only.
	net Network
	// events, when set, hears of every change to a container.
	events *events.Bus
	// emulation, when set, says which image architectures run.
	emulation Emulation

	mu    sync.Mutex
	byID  map[string]*ctr
	names map[string]string
}

// ctr is one container: its record and, while it runs, its execution.
type ctr struct {
	dir string
	log *logFile
	// file keeps the record on disk: save writes it at once, saveState
	// in the background.
	file       *atomicfile.Deferred
	saveFailed func(error)

	mu  sync.Mutex
	rec *apiv1.Container
	run *execution
	// removed is set when a removal begins, gone once it has finished.
	removed, gone bool
	// changed is closed and replaced at every change of state, waking
	// Wait calls; exits counts the runs that ended.
	changed chan struct{}
	exits   int
	// restart is set while a restart waits for its back-off.
	restart *time.Timer
	backoff time.Duration
	att     attachState
	// shutdown is set when the agent stops the container on its way out:
	// no restart then, and the policy applies at the next start.
	shutdown bool
	// removeVolumes is set by rm -v: the container's anonymous volumes go
	// with it (as they do with --rm).
	removeVolumes bool
}

// NewManager opens the containers kept under root and recovers them:
// containers that were running when the agent stopped are cleaned up and
// marked exited, then those whose restart policy says so start again.
func NewManager(ctx context.Context, root string, rt Runtime, images ImageSource, volumes VolumeStore, log *slog.Logger, opts ...Option) (*Manager, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("create containers dir: %w", err)
	}
	m := &Manager{root: root, rt: rt, images: images, volumes: volumes, log: log, byID: map[string]*ctr{}, names: map[string]string{}}
	for _, o := range opts {
		o(m)
	}
	if err := m.restore(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Manager) dir(id string) string { return filepath.Join(m.root, id) }

// newCtr makes the container kept in dir; logger, which may be nil, hears
// of records that could not be saved in the background.
func newCtr(dir string, log *logFile, rec *apiv1.Container, logger *slog.Logger) *ctr {
	c := &ctr{dir: dir, log: log, rec: rec, changed: make(chan struct{}), att: attachState{subs: map[*subscriber]struct{}{}}}
	id := rec.Id
	c.saveFailed = func(err error) {
		if logger != nil {
			logger.Error("save container state", "id", id, "err", err)
		}
	}
	c.file = atomicfile.NewDeferred(filepath.Join(dir, recordFile), c.saveFailed)
	return c
}

// save writes c's record atomically and durably, for a change the caller
// must not report before it is kept: a create, a rename, an update. Call
// with c.mu held.
func (c *ctr) save() error {
	data, err := c.encode()
	if err != nil {
		return err
	}
	if err := c.file.Write(data); err != nil {
		return fmt.Errorf("save container %s: %w", c.rec.Id, err)
	}
	return nil
}

// saveState keeps c's record in the background, for a change of state
// (started, exited, paused, healthy...): a start or an exit then does not
// wait for the disk, and a crash loses at most the last such change,
// which the next start makes up for anyway (a container that was running
// is marked exited). Call with c.mu held.
func (c *ctr) saveState() {
	data, err := c.encode()
	if err != nil {
		c.saveFailed(err)
		return
	}
	c.file.Store(data)
}

func (c *ctr) encode() ([]byte, error) {
	data, err := protojson.MarshalOptions{Indent: "  "}.Marshal(c.rec)
	if err != nil {
		return nil, fmt.Errorf("encode container %s: %w", c.rec.Id, err)
	}
	return data, nil
}

// notify wakes waiters. Call with c.mu held.
func (c *ctr) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// snapshot returns a copy of c's record that callers may keep.
func (c *ctr) snapshot() *apiv1.Container {
	c.mu.Lock()
	defer c.mu.Unlock()
	return proto.Clone(c.rec).(*apiv1.Container)
}

// get finds a container by full id, name or unique id prefix.
func (m *Manager) get(ref string) (*ctr, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ref = strings.TrimPrefix(ref, "/")
	if ref == "" {
		return nil, fmt.Errorf("no container given: %w", errdefs.ErrInvalidArgument)
	}
	if c, ok := m.byID[ref]; ok {
		return c, nil
	}
	if id, ok := m.names[ref]; ok {
		return m.byID[id], nil
	}
	var found *ctr
	for id, c := range m.byID {
		if strings.HasPrefix(id, ref) {
			if found != nil {
				return nil, fmt.Errorf("multiple containers match %q: give more of the id: %w", ref, errdefs.ErrInvalidArgument)
			}
			found = c
		}
	}
	if found == nil {
		return nil, fmt.Errorf("No such container: %s: %w", ref, errdefs.ErrNotFound)
	}
	return found, nil
}

// Inspect returns container ref's record.
func (m *Manager) Inspect(ref string) (*apiv1.Container, error) {
	c, err := m.get(ref)
	if err != nil {
		return nil, err
	}
	return m.withNetwork(c.snapshot()), nil
}

// all returns every container, newest first.
func (m *Manager) all() []*ctr {
	m.mu.Lock()
	out := make([]*ctr, 0, len(m.byID))
	for _, c := range m.byID {
		out = append(out, c)
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].rec, out[j].rec
		if a.Created != b.Created {
			return a.Created > b.Created
		}
		return a.Id < b.Id
	})
	return out
}

// UsesImage reports whether any container was created from image id.
func (m *Manager) UsesImage(imageID string) bool {
	for _, c := range m.all() {
		c.mu.Lock()
		uses := c.rec.ImageId == imageID
		c.mu.Unlock()
		if uses {
			return true
		}
	}
	return false
}

// Counts returns the number of containers by state, for system info.
func (m *Manager) Counts() (total, running, paused, stopped int) {
	for _, c := range m.all() {
		c.mu.Lock()
		switch c.rec.State.GetStatus() {
		case "running", "restarting":
			running++
		case "paused":
			paused++
		default:
			stopped++
		}
		c.mu.Unlock()
		total++
	}
	return total, running, paused, stopped
}

// Rename gives container ref a new name.
func (m *Manager) Rename(ref, name string) error {
	name = strings.TrimPrefix(name, "/")
	if err := checkName(name); err != nil {
		return err
	}
	c, err := m.get(ref)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.rec.Name
	if old == name {
		return fmt.Errorf("renaming container %s: the new name is the same as the old one: %w", old, errdefs.ErrInvalidArgument)
	}
	if other, ok := m.names[name]; ok {
		return fmt.Errorf("the container name %q is already in use by container %q: remove or rename that container first: %w", "/"+name, other, errdefs.ErrConflict)
	}
	c.rec.Name = name
	if err := c.save(); err != nil {
		c.rec.Name = old
		return err
	}
	delete(m.names, old)
	m.names[name] = c.rec.Id
	m.emit(c.rec, "rename", map[string]string{"oldName": "/" + old})
	return nil
}

// Wait blocks until container ref meets condition — "not-running" (the
// default), "next-exit" or "removed" — and returns its exit code.
func (m *Manager) Wait(ctx context.Context, ref, condition string) (int32, string, error) {
	return m.WaitArmed(ctx, ref, condition, nil)
}

// WaitArmed is Wait that calls armed, when set, once the condition is
// watched: an exit or removal after that call is not missed. As docker's,
// a removal ends every wait with the container's last exit, and "removed"
// holds once the removal has finished.
func (m *Manager) WaitArmed(ctx context.Context, ref, condition string, armed func()) (int32, string, error) {
	switch condition {
	case "", "not-running", "next-exit", "removed":
	default:
		return 0, "", fmt.Errorf("invalid wait condition %q: use not-running, next-exit or removed: %w", condition, errdefs.ErrInvalidArgument)
	}
	c, err := m.get(ref)
	if err != nil {
		return 0, "", err
	}
	c.mu.Lock()
	startExits := c.exits
	c.mu.Unlock()
	if armed != nil {
		armed()
	}
	for {
		c.mu.Lock()
		st := c.rec.State
		running := c.run != nil || st.Restarting
		var done bool
		switch condition {
		case "", "not-running":
			done = !running
		case "next-exit":
			done = c.exits > startExits
		}
		done = done || c.gone
		ch := c.changed
		code, msg := st.ExitCode, st.Error
		c.mu.Unlock()
		if done {
			return code, msg, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, "", ctx.Err()
		}
	}
}

// Package volume keeps the agent's volumes: folders on the data disk,
// each with its record, that outlive the containers mounting them. It
// creates, lists, removes and prunes them, fills a new one from an
// image's content (copy-up), and serves the Volumes API. Which
// containers use a volume is the container manager's to say; mounting
// is the runtime's.
package volume

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/skiffrun/skiff/guest/api/atomicfile"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/events"
)

// Driver is the one volume driver: folders on the agent's disk.
const Driver = "local"

// AnonymousLabel marks a volume made for one container, as docker does.
const AnonymousLabel = "com.docker.volume.anonymous"

const (
	recordFile = "volume.json"
	dataDir    = "_data"
)

// namePattern is compiled on first use, not at the start of every process that
// links the package: each container's init is this binary too.
var namePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`) })

// Store holds the volumes under one folder: NAME/volume.json and
// NAME/_data. Its methods are safe for concurrent use.
type Store struct {
	root string
	// events, when set, hears of volumes made and removed.
	events *events.Bus

	mu   sync.Mutex
	vols map[string]*apiv1.Volume
}

// Open loads the volumes under root, creating it, and removes the
// folders of creates that never finished (no record).
func Open(root string) (*Store, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("create volumes dir: %w", err)
	}
	s := &Store{root: root, vols: map[string]*apiv1.Volume{}}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("read volumes dir: %w", err)
	}
	var errs []error
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		b, err := os.ReadFile(filepath.Join(dir, recordFile))
		if errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, os.RemoveAll(dir))
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("read volume %s: %w", e.Name(), err))
			continue
		}
		v := &apiv1.Volume{}
		if err := protojson.Unmarshal(b, v); err != nil {
			errs = append(errs, fmt.Errorf("volume %s: %w", e.Name(), err))
			continue
		}
		v.Mountpoint = filepath.Join(dir, dataDir)
		s.vols[v.Name] = v
	}
	return s, errors.Join(errs...)
}

// SetEvents makes s publish docker's volume create and destroy events on
// b. Call it before s is used.
func (s *Store) SetEvents(b *events.Bus) { s.events = b }

// CheckName reports whether name can name a volume.
func CheckName(name string) error {
	if namePattern().MatchString(name) {
		return nil
	}
	return fmt.Errorf("%q includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed (at least two): %w", name, errdefs.ErrInvalidArgument)
}

// Create makes volume name, or returns it unchanged when it exists, as
// docker does, and reports whether it made it. An empty name makes an
// anonymous volume with a random one.
func (s *Store) Create(name string, labels, options map[string]string) (*apiv1.Volume, bool, error) {
	if len(options) > 0 {
		return nil, false, fmt.Errorf("volume options are not supported: the local driver here keeps plain folders on the machine's disk; drop -o/--opt: %w", errdefs.ErrInvalidArgument)
	}
	anonymous := name == ""
	if anonymous {
		name = randomName()
		labels = mergeLabels(labels, map[string]string{AnonymousLabel: ""})
	} else if err := CheckName(name); err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.vols[name]; ok {
		return proto.Clone(v).(*apiv1.Volume), false, nil
	}
	dir := filepath.Join(s.root, name)
	if err := os.MkdirAll(filepath.Join(dir, dataDir), 0o755); err != nil {
		return nil, false, fmt.Errorf("create volume %s: %w", name, err)
	}
	v := &apiv1.Volume{
		Name:       name,
		Driver:     Driver,
		Mountpoint: filepath.Join(dir, dataDir),
		CreatedAt:  time.Now().UnixNano(),
		Labels:     labels,
		Scope:      "local",
		Anonymous:  anonymous,
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(v)
	if err == nil {
		// The record is written last: it is what makes the volume exist.
		err = atomicfile.WriteFile(filepath.Join(dir, recordFile), b)
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, false, fmt.Errorf("save volume %s: %w", name, err)
	}
	s.vols[name] = v
	s.events.Publish(events.Volume, "create", name, map[string]string{"driver": Driver})
	return proto.Clone(v).(*apiv1.Volume), true, nil
}

// Get returns volume name.
func (s *Store) Get(name string) (*apiv1.Volume, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vols[name]
	if !ok {
		return nil, fmt.Errorf("no such volume: %s: %w", name, errdefs.ErrNotFound)
	}
	return proto.Clone(v).(*apiv1.Volume), nil
}

// List returns every volume, by name.
func (s *Store) List() []*apiv1.Volume {
	s.mu.Lock()
	out := make([]*apiv1.Volume, 0, len(s.vols))
	for _, v := range s.vols {
		out = append(out, proto.Clone(v).(*apiv1.Volume))
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Remove deletes volume name and its data. The record goes first, so an
// agent killed halfway never lists a volume whose data is half gone; the
// folder is swept at the next Open. Whether containers still use it is
// the caller's to check.
func (s *Store) Remove(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.vols[name]; !ok {
		return fmt.Errorf("no such volume: %s: %w", name, errdefs.ErrNotFound)
	}
	dir := filepath.Join(s.root, name)
	if err := os.Remove(filepath.Join(dir, recordFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	delete(s.vols, name)
	s.events.Publish(events.Volume, "destroy", name, map[string]string{"driver": Driver})
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove volume %s data: %w", name, err)
	}
	return nil
}

func randomName() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func mergeLabels(a, b map[string]string) map[string]string {
	out := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

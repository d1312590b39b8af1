package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/skiffrun/skiff/guest/api/atomicfile"
)

// record is one network as kept on disk: what docker network inspect
// shows, its bridge, its addresses and who is attached.
type record struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Driver   string            `json:"driver"`
	Created  int64             `json:"created"`
	Labels   map[string]string `json:"labels,omitempty"`
	Internal bool              `json:"internal,omitempty"`
	// Bridge is the Linux bridge's name in the machine.
	Bridge string `json:"bridge"`
	Pool   *pool  `json:"pool"`
	// Endpoints are the attached containers, by id. A container is
	// attached from create (or connect) until rm (or disconnect), running
	// or not; its address stays the same all that time.
	Endpoints map[string]*endpoint `json:"endpoints,omitempty"`
}

// endpoint is a container's place on a network.
type endpoint struct {
	Name    string   `json:"name"`
	Aliases []string `json:"aliases,omitempty"`
	MAC     string   `json:"mac"`
}

// store keeps one JSON file per network under dir, each replaced
// atomically, so an agent killed at any point finds every network either
// before or after a change.
type store struct {
	dir string
	// log, when set, hears of records that could not be saved in the
	// background.
	log *slog.Logger

	mu    sync.Mutex
	files map[string]*atomicfile.Deferred
}

func (s *store) path(id string) string { return filepath.Join(s.dir, id+".json") }

func (s *store) file(r *record) *atomicfile.Deferred {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.files[r.ID]; f != nil {
		return f
	}
	if s.files == nil {
		s.files = map[string]*atomicfile.Deferred{}
	}
	name := r.Name
	f := atomicfile.NewDeferred(s.path(r.ID), func(err error) {
		if s.log != nil {
			s.log.Warn("save network", "network", name, "err", err)
		}
	})
	s.files[r.ID] = f
	return f
}

func (s *store) encode(r *record) ([]byte, error) {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode network %s: %w", r.Name, err)
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("create networks dir: %w", err)
	}
	return data, nil
}

// save writes r now and durably.
func (s *store) save(r *record) error {
	data, err := s.encode(r)
	if err != nil {
		return err
	}
	if err := s.file(r).Write(data); err != nil {
		return fmt.Errorf("save network %s: %w", r.Name, err)
	}
	return nil
}

// saveLater keeps r in the background, for the endpoints a container's
// start and removal change: those do not wait for the disk, and a crash
// loses at most the last change, an address the agent's next start
// leases again.
func (s *store) saveLater(r *record) {
	data, err := s.encode(r)
	if err != nil {
		if s.log != nil {
			s.log.Warn("save network", "network", r.Name, "err", err)
		}
		return
	}
	s.file(r).Store(data)
}

// flush returns once every change saved later is on disk.
func (s *store) flush() {
	s.mu.Lock()
	files := make([]*atomicfile.Deferred, 0, len(s.files))
	for _, f := range s.files {
		files = append(files, f)
	}
	s.mu.Unlock()
	for _, f := range files {
		f.Flush()
	}
}

func (s *store) remove(id string) error {
	s.mu.Lock()
	f := s.files[id]
	delete(s.files, id)
	s.mu.Unlock()
	if f != nil {
		f.Close()
	}
	if err := os.Remove(s.path(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove network record: %w", err)
	}
	return nil
}

func (s *store) loadAll() ([]*record, error) {
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read networks dir: %w", err)
	}
	var out []*record
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(s.dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read network record: %w", err)
		}
		r := &record{}
		if err := json.Unmarshal(data, r); err != nil {
			return nil, fmt.Errorf("decode network record %s: %w", e.Name(), err)
		}
		if r.Pool == nil || r.ID == "" {
			return nil, fmt.Errorf("network record %s is incomplete", e.Name())
		}
		if r.Pool.Leases == nil {
			r.Pool.Leases = map[string]netip.Addr{}
		}
		if r.Endpoints == nil {
			r.Endpoints = map[string]*endpoint{}
		}
		out = append(out, r)
	}
	return out, nil
}

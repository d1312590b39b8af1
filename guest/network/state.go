package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

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
type store struct{ dir string }

func (s *store) path(id string) string { return filepath.Join(s.dir, id+".json") }

func (s *store) save(r *record) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode network %s: %w", r.Name, err)
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("create networks dir: %w", err)
	}
	if err := atomicfile.WriteFile(s.path(r.ID), data); err != nil {
		return fmt.Errorf("save network %s: %w", r.Name, err)
	}
	return nil
}

func (s *store) remove(id string) error {
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

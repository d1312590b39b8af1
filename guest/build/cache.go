package build

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/go-digest"

	"github.com/skiffrun/skiff/guest/api/atomicfile"
)

// cache keeps, by step cache key, what a layer step made: its layer tar
// and its history entry, so that a rebuild makes the same image.
//
//	records/<key>.json   one step's record, replaced atomically
//	layers/<hex>.tar     layer tars by diff ID, written then renamed
type cache struct{ dir string }

type record struct {
	DiffID  string     `json:"diffID"`
	History v1.History `json:"history"`
}

func openCache(dir string) (*cache, error) {
	c := &cache{dir: dir}
	for _, d := range []string{c.recordsDir(), c.layersDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("open build cache: %w", err)
		}
	}
	// A tar whose write was cut short has a temp name: drop it.
	ents, err := os.ReadDir(c.layersDir())
	if err != nil {
		return nil, fmt.Errorf("open build cache: %w", err)
	}
	for _, e := range ents {
		if name, ok := strings.CutSuffix(e.Name(), ".tar"); !ok || digest.SHA256.Validate(name) != nil {
			_ = os.Remove(filepath.Join(c.layersDir(), e.Name()))
		}
	}
	return c, nil
}

func (c *cache) recordsDir() string { return filepath.Join(c.dir, "records") }
func (c *cache) layersDir() string  { return filepath.Join(c.dir, "layers") }

// layerPath is where the layer tar of diffID lives.
func (c *cache) layerPath(diffID string) string {
	return filepath.Join(c.layersDir(), strings.TrimPrefix(diffID, "sha256:")+".tar")
}

// get returns the record of key when it and its layer are there.
func (c *cache) get(key string) (*record, bool) {
	data, err := os.ReadFile(filepath.Join(c.recordsDir(), key+".json"))
	if err != nil {
		return nil, false
	}
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, false
	}
	if digest.SHA256.Validate(strings.TrimPrefix(r.DiffID, "sha256:")) != nil {
		return nil, false
	}
	if _, err := os.Stat(c.layerPath(r.DiffID)); err != nil {
		return nil, false
	}
	return &r, true
}

// put records what the step of key made.
func (c *cache) put(key string, r *record) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode build cache record: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(c.recordsDir(), key+".json"), data); err != nil {
		return fmt.Errorf("save build cache record: %w", err)
	}
	return nil
}

// adopt moves a finished layer tar, whose digest is diffID, into the
// cache. A tar already there wins: it has the same content.
func (c *cache) adopt(tmp, diffID string) (string, error) {
	dst := c.layerPath(diffID)
	if _, err := os.Stat(dst); err == nil {
		return dst, os.Remove(tmp)
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return "", fmt.Errorf("store layer %s: %w", diffID, err)
	}
	return dst, nil
}

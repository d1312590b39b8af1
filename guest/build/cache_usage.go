package build

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// CacheEntry is one record of the step cache, as docker's build cache
// lists it.
type CacheEntry struct {
	// ID is the step's cache key.
	ID string
	// Description is the step's history entry.
	Description string
	// Size is the bytes of the step's layer tar.
	Size int64
	// Shared reports whether the tar is also an image's layer blob (a
	// link to the same file) or an earlier record's, so that the sizes
	// of the records not shared add up to what a prune frees.
	Shared            bool
	Created, LastUsed time.Time
	diffID            string
}

// touch marks record key as used now, for prune's until and
// keep-storage.
func (c *cache) touch(key string) {
	now := time.Now()
	_ = os.Chtimes(filepath.Join(c.recordsDir(), key+".json"), now, now)
}

// entries lists the cache's records whose layer tar is there.
func (c *cache) entries() ([]CacheEntry, error) {
	ents, err := os.ReadDir(c.recordsDir())
	if err != nil {
		return nil, fmt.Errorf("read build cache: %w", err)
	}
	var out []CacheEntry
	seen := map[string]bool{}
	for _, e := range ents {
		key, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		r, ok := c.get(key)
		if !ok {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		tar, err := os.Stat(c.layerPath(r.DiffID))
		if err != nil {
			continue
		}
		out = append(out, CacheEntry{
			ID: key, Description: r.History.CreatedBy, Size: tar.Size(), Shared: links(tar) > 1 || seen[r.DiffID],
			Created: r.History.Created.Time, LastUsed: fi.ModTime(), diffID: r.DiffID,
		})
		seen[r.DiffID] = true
	}
	return out, nil
}

// PruneOptions say which cache records a prune keeps.
type PruneOptions struct {
	// Until keeps records last used at or after it; zero keeps none for
	// that reason.
	Until time.Time
	// KeepStorage keeps the most recently used records while their sizes
	// sum to at most this many bytes; 0 keeps none for that reason.
	KeepStorage int64
}

// prune removes the records o does not keep, then every layer tar no
// record is left to use. It returns the removed records' keys and the
// bytes freed: tars that were no image's layer blob too.
func (c *cache) prune(o PruneOptions) ([]string, int64, error) {
	all, err := c.entries()
	if err != nil {
		return nil, 0, err
	}
	slices.SortFunc(all, func(a, b CacheEntry) int { return b.LastUsed.Compare(a.LastUsed) })
	var kept int64
	keep := map[string]bool{}
	var removed []string
	var errs []error
	for _, e := range all {
		if !o.Until.IsZero() && !e.LastUsed.Before(o.Until) || o.KeepStorage > 0 && kept+e.Size <= o.KeepStorage {
			kept += e.Size
			keep[e.diffID] = true
			continue
		}
		if err := os.Remove(filepath.Join(c.recordsDir(), e.ID+".json")); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			keep[e.diffID] = true
			continue
		}
		removed = append(removed, e.ID)
	}
	// Records that did not list (a broken one) keep nothing; their tars
	// go with the rest.
	tars, err := os.ReadDir(c.layersDir())
	if err != nil {
		return removed, 0, errors.Join(append(errs, err)...)
	}
	var freed int64
	for _, t := range tars {
		hex, ok := strings.CutSuffix(t.Name(), ".tar")
		if !ok || keep["sha256:"+hex] {
			continue
		}
		p := filepath.Join(c.layersDir(), t.Name())
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		if err := os.Remove(p); err != nil {
			errs = append(errs, err)
			continue
		}
		if links(fi) == 1 {
			freed += fi.Size()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return removed, freed, fmt.Errorf("prune build cache: %w", err)
	}
	return removed, freed, nil
}

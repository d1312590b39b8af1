package build

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// testCache makes a cache of records a (tar 1, 100 bytes, also linked as
// an image's blob), b and c (both tar 2, 10 bytes), last used an hour,
// a minute and a second ago.
func testCache(t *testing.T) (*cache, string) {
	t.Helper()
	c, err := openCache(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	d1, d2 := "sha256:"+strings.Repeat("1", 64), "sha256:"+strings.Repeat("2", 64)
	if err := os.WriteFile(c.layerPath(d1), make([]byte, 100), 0o600); err != nil {
		t.Fatal(err)
	}
	blob := filepath.Join(t.TempDir(), "blob")
	if err := os.Link(c.layerPath(d1), blob); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.layerPath(d2), make([]byte, 10), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, r := range []struct {
		key, diff, by string
		ago           time.Duration
	}{{"a", d1, "RUN one", time.Hour}, {"b", d2, "RUN two", time.Minute}, {"c", d2, "COPY x", time.Second}} {
		if err := c.put(r.key, &record{DiffID: r.diff, History: v1.History{CreatedBy: r.by, Created: v1.Time{Time: now.Add(-r.ago)}}}); err != nil {
			t.Fatal(err)
		}
		at := now.Add(-r.ago)
		if err := os.Chtimes(filepath.Join(c.recordsDir(), r.key+".json"), at, at); err != nil {
			t.Fatal(err)
		}
	}
	return c, blob
}

func TestCacheEntries(t *testing.T) {
	c, _ := testCache(t)
	ents, err := c.entries()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]CacheEntry{}
	for _, e := range ents {
		got[e.ID] = e
	}
	if len(got) != 3 || got["a"].Size != 100 || !got["a"].Shared || got["b"].Size != 10 || got["b"].Shared || !got["c"].Shared || got["c"].Description != "COPY x" {
		t.Errorf("entries = %+v", ents)
	}
}

func TestCachePrune(t *testing.T) {
	for _, tc := range []struct {
		name      string
		o         PruneOptions
		removed   []string
		freed     int64
		tarsAfter int
	}{
		// The shared tar frees nothing; tar 2 goes with its last record.
		{name: "all", removed: []string{"a", "b", "c"}, freed: 10, tarsAfter: 0},
		{name: "until", o: PruneOptions{Until: time.Now().Add(-2 * time.Minute)}, removed: []string{"a"}, freed: 0, tarsAfter: 1},
		// c (10 bytes) fits, b would make 20: b goes but its tar stays for c.
		{name: "keep storage", o: PruneOptions{KeepStorage: 15}, removed: []string{"b", "a"}, freed: 0, tarsAfter: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, blob := testCache(t)
			removed, freed, err := c.prune(tc.o)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(removed)
			slices.Sort(tc.removed)
			if !slices.Equal(removed, tc.removed) || freed != tc.freed {
				t.Errorf("prune removed %v, freed %d; want %v, %d", removed, freed, tc.removed, tc.freed)
			}
			tars, _ := os.ReadDir(c.layersDir())
			if len(tars) != tc.tarsAfter {
				t.Errorf("%d layer tars left, want %d", len(tars), tc.tarsAfter)
			}
			if _, err := os.Stat(blob); err != nil {
				t.Errorf("the image's blob went with the cache: %v", err)
			}
			left, _ := c.entries()
			if len(left)+len(removed) != 3 {
				t.Errorf("%d records left after removing %d", len(left), len(removed))
			}
		})
	}
}

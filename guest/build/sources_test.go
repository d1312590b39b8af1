package build

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMatchSources(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"a.txt": "a", "b.txt": "b", "c.md": "c", "dir/d.txt": "d"})
	if err := os.Symlink("/etc", filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	rel := func(ps []string) []string {
		var out []string
		for _, p := range ps {
			r, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(r))
		}
		return out
	}
	for _, tc := range []struct {
		src  string
		want []string
		err  error
	}{
		{"a.txt", []string{"a.txt"}, nil},
		{"/a.txt", []string{"a.txt"}, nil},
		{"./dir", []string{"dir"}, nil},
		{"*.txt", []string{"a.txt", "b.txt"}, nil},
		{"dir/*.txt", []string{"dir/d.txt"}, nil},
		{"?.md", []string{"c.md"}, nil},
		{".", []string{"."}, nil},
		// A symlink resolves inside the context, never to the machine's /etc.
		{"escape/passwd", nil, errdefs.ErrNotFound},
		{"../outside", nil, errdefs.ErrInvalidArgument},
		{"dir/../../outside", nil, errdefs.ErrInvalidArgument},
		{"missing", nil, errdefs.ErrNotFound},
		{"*.go", nil, errdefs.ErrNotFound},
		{"[", nil, errdefs.ErrInvalidArgument},
	} {
		t.Run(tc.src, func(t *testing.T) {
			got, err := matchSources(root, tc.src)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("matchSources(%q): %v, want %v", tc.src, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rel(got), tc.want) {
				t.Errorf("matchSources(%q) = %v, want %v", tc.src, rel(got), tc.want)
			}
		})
	}
}

func TestHashSourcesFollowsContentNotTimes(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"dir/a": "1", "dir/b": "2"})
	dir := []string{filepath.Join(root, "dir")}
	h1, err := hashSources(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(root, "dir/a"), old, old); err != nil {
		t.Fatal(err)
	}
	if h, _ := hashSources(dir); h != h1 {
		t.Error("a new mtime changed the digest")
	}
	writeFiles(t, root, map[string]string{"dir/a": "changed"})
	if h, _ := hashSources(dir); h == h1 {
		t.Error("new content kept the digest")
	}
	writeFiles(t, root, map[string]string{"dir/a": "1"})
	if err := os.Chmod(filepath.Join(root, "dir/b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if h, _ := hashSources(dir); h == h1 {
		t.Error("a new mode kept the digest")
	}
}

func TestCleanSourceStaysInside(t *testing.T) {
	for _, s := range []string{"a", "/a/b", "a/../b", "./a", "/../a", "a//b/"} {
		got, err := cleanSource(s)
		if err != nil {
			t.Fatalf("cleanSource(%q): %v", s, err)
		}
		if strings.HasPrefix(got, "/") || strings.HasPrefix(got, "..") {
			t.Errorf("cleanSource(%q) = %q", s, got)
		}
	}
}

func TestCacheRoundTrip(t *testing.T) {
	c, err := openCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	diff := "sha256:" + strings.Repeat("ab", 32)
	key := stepKey("parent", "RUN", "true")
	if _, ok := c.get(key); ok {
		t.Fatal("empty cache hit")
	}
	if err := c.put(key, &record{DiffID: diff}); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.get(key); ok {
		t.Fatal("a record whose layer is missing hit")
	}
	tmp := filepath.Join(c.layersDir(), "layer-1.tmp")
	if err := os.WriteFile(tmp, []byte("tar"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := c.adopt(tmp, diff)
	if err != nil || p != c.layerPath(diff) {
		t.Fatalf("adopt: %s, %v", p, err)
	}
	if r, ok := c.get(key); !ok || r.DiffID != diff {
		t.Fatalf("get: %+v %v", r, ok)
	}
	// A temp file left by a write cut short goes at the next open.
	if err := os.WriteFile(filepath.Join(c.layersDir(), "layer-2.tmp"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := openCache(c.dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(c.layersDir(), "layer-2.tmp")); !os.IsNotExist(err) {
		t.Error("openCache kept a temp file")
	}
	if _, ok := c.get(key); !ok {
		t.Error("openCache dropped a whole layer")
	}
}

package volume

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/errdefs"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

func TestStore(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	v, created, err := s.Create("data", map[string]string{"a": "b"}, nil)
	if err != nil || !created || v.Name != "data" || v.Driver != "local" || v.Mountpoint != filepath.Join(root, "data", "_data") {
		t.Fatalf("Create = %v, %v, %v", v, created, err)
	}
	if err := os.WriteFile(filepath.Join(v.Mountpoint, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Creating it again returns it, as docker does.
	if again, created, err := s.Create("data", nil, nil); err != nil || created || again.CreatedAt != v.CreatedAt {
		t.Errorf("Create of an existing volume = %v, %v, %v", again, created, err)
	}
	anon, created, err := s.Create("", nil, nil)
	if err != nil || !created || !anon.Anonymous || len(anon.Name) != 64 {
		t.Fatalf("anonymous Create = %v, %v", anon, err)
	}
	if _, ok := anon.Labels[AnonymousLabel]; !ok {
		t.Errorf("an anonymous volume lacks docker's label: %v", anon.Labels)
	}
	for _, bad := range []string{"a", "-x", "a/b", "../x", "x y"} {
		if _, _, err := s.Create(bad, nil, nil); !errdefs.IsInvalidArgument(err) {
			t.Errorf("Create(%q) = %v, want invalid argument", bad, err)
		}
	}
	if _, _, err := s.Create("withopts", nil, map[string]string{"type": "nfs"}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Create with options = %v", err)
	}
	// A create that died before its record is swept at the next open.
	if err := os.MkdirAll(filepath.Join(root, "half", "_data"), 0o755); err != nil {
		t.Fatal(err)
	}

	s2, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	// List sorts by name, and the anonymous volume's is random hex: it
	// may come before "data" or after.
	got := s2.List()
	var data *apiv1.Volume
	for _, v := range got {
		if v.Name == "data" {
			data = v
		}
	}
	if len(got) != 2 || data == nil || data.Labels["a"] != "b" {
		t.Errorf("after reopening: %v", got)
	}
	if _, err := os.Stat(filepath.Join(root, "half")); !os.IsNotExist(err) {
		t.Errorf("the half-made volume is still there: %v", err)
	}
	if data, err := os.ReadFile(filepath.Join(root, "data", "_data", "f")); err != nil || string(data) != "x" {
		t.Errorf("the volume's data after reopening: %q, %v", data, err)
	}
	if err := s2.Remove("data"); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Get("data"); !errdefs.IsNotFound(err) {
		t.Errorf("Get after Remove = %v", err)
	}
	if err := s2.Remove("data"); !errdefs.IsNotFound(err) {
		t.Errorf("second Remove = %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "data")); !os.IsNotExist(err) {
		t.Errorf("the removed volume's folder is still there: %v", err)
	}
}

func TestFilter(t *testing.T) {
	vols := []*apiv1.Volume{
		{Name: "web-data", Driver: "local", Labels: map[string]string{"app": "web"}, RefCount: 1},
		{Name: "cache", Driver: "local", Labels: map[string]string{"app": "db", "tmp": ""}},
		{Name: "0123abcd", Driver: "local", Anonymous: true},
	}
	for _, tc := range []struct {
		name    string
		filters map[string][]string
		prune   bool
		want    []string
		err     bool
	}{
		{name: "none", want: []string{"web-data", "cache", "0123abcd"}},
		{name: "dangling", filters: map[string][]string{"dangling": {"true"}}, want: []string{"cache", "0123abcd"}},
		{name: "not dangling", filters: map[string][]string{"dangling": {"0"}}, want: []string{"web-data"}},
		{name: "name substring", filters: map[string][]string{"name": {"data", "cach"}}, want: []string{"web-data", "cache"}},
		{name: "label key", filters: map[string][]string{"label": {"tmp"}}, want: []string{"cache"}},
		{name: "label value", filters: map[string][]string{"label": {"app=web"}}, want: []string{"web-data"}},
		{name: "keys all match", filters: map[string][]string{"label": {"app"}, "dangling": {"true"}}, want: []string{"cache"}},
		{name: "prune takes anonymous ones", prune: true, want: []string{"0123abcd"}},
		{name: "prune all", prune: true, filters: map[string][]string{"all": {"true"}}, want: []string{"web-data", "cache", "0123abcd"}},
		{name: "bad dangling", filters: map[string][]string{"dangling": {"maybe"}}, err: true},
		{name: "unknown key", filters: map[string][]string{"colour": {"red"}}, err: true},
		{name: "all outside prune", filters: map[string][]string{"all": {"true"}}, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := map[string]*apiv1.FilterValues{}
			for k, v := range tc.filters {
				f[k] = &apiv1.FilterValues{Values: v}
			}
			keep, err := Filter(f, tc.prune)
			if tc.err {
				if !errdefs.IsInvalidArgument(err) {
					t.Fatalf("Filter = %v, want invalid argument", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range vols {
				if keep(v) {
					got = append(got, v.Name)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("kept %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("kept %v, want %v", got, tc.want)
				}
			}
		})
	}
}

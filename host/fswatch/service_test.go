package fswatch

import (
	"path/filepath"
	"strings"
	"testing"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

func TestServerMapsPathsBothWays(t *testing.T) {
	home := t.TempDir()
	src := filepath.Join(home, "src")
	s := &server{shares: map[string]string{"home": home, "src": src}}
	for _, tc := range []struct {
		host string
		want *apiv1.FilePath
	}{
		{filepath.Join(home, "a", "b"), &apiv1.FilePath{Share: "home", Path: "a/b"}},
		{home, &apiv1.FilePath{Share: "home", Path: ""}},
		{filepath.Join(src, "x"), &apiv1.FilePath{Share: "src", Path: "x"}},
	} {
		got, ok := s.filePath(tc.host)
		if !ok || got.GetShare() != tc.want.GetShare() || got.GetPath() != tc.want.GetPath() {
			t.Errorf("filePath(%s) = %v, want %v", tc.host, got, tc.want)
		}
		back, err := s.hostPath(got)
		if err != nil || back != tc.host {
			t.Errorf("hostPath(%v) = %q, %v, want %q", got, back, err, tc.host)
		}
	}
	if _, ok := s.filePath(filepath.Dir(home)); ok {
		t.Error("a path outside every share was mapped")
	}
	if _, err := s.hostPath(&apiv1.FilePath{Share: "nope"}); err == nil {
		t.Error("an unknown share was accepted")
	}
}

func TestLocalPathRefusesWaysOut(t *testing.T) {
	for _, rel := range []string{"/etc", "..", "../x", "a/../../x", "a/..", "./a", "a//b", "a/", ".", "a\x00b"} {
		if got, err := LocalPath(rel); err == nil {
			t.Errorf("LocalPath(%q) = %q, want an error", rel, got)
		}
	}
	for _, rel := range []string{"", "a", "a/b", "a..b", "...", ".git/x"} {
		if _, err := LocalPath(rel); err != nil {
			t.Errorf("LocalPath(%q): %v", rel, err)
		}
	}
}

// FuzzLocalPath checks that whatever the agent sends, a path it passes
// stays inside the share once joined to its folder.
func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"", "a/b", "../x", "/abs", "a/../..", "C:x", `a\..\..\x`, "a\x00"} {
		f.Add(s)
	}
	share := filepath.Join(string(filepath.Separator), "share", "dir")
	f.Fuzz(func(t *testing.T, rel string) {
		local, err := LocalPath(rel)
		if err != nil {
			return
		}
		p := filepath.Join(share, local)
		if p != share && !strings.HasPrefix(p, share+string(filepath.Separator)) {
			t.Fatalf("LocalPath(%q) = %q leads to %s, outside %s", rel, local, p, share)
		}
	})
}

package fsevents

import (
	"testing"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/api/wire"
)

var testShares = []wire.Share{
	{Tag: "share0", Path: "/home/u"},
	{Tag: "share1", Path: "/home/u/src"},
	{Tag: "share2", Path: "/mnt/c/My Files"},
	{Tag: "ro", Path: "/opt/ro", ReadOnly: true},
}

func TestMapperRoot(t *testing.T) {
	m := NewMapper(testShares)
	for _, tc := range []struct {
		guest string
		share string
		rel   string
		ok    bool
	}{
		{"/home/u/a/b", "share0", "a/b", true},
		{"/home/u", "share0", "", true},
		{"/home/u/src/app", "share1", "app", true},
		{"/home/u/srcx", "share0", "srcx", true},
		{"/mnt/c/My Files/x", "share2", "x", true},
		{"/home/u/./a/../b", "share0", "b", true},
		{"/home/uu", "", "", false},
		{"/var/lib", "", "", false},
		{"/opt/ro/x", "", "", false},
	} {
		fp, ok := m.Root(tc.guest)
		if ok != tc.ok || (ok && (fp.GetShare() != tc.share || fp.GetPath() != tc.rel)) {
			t.Errorf("Root(%q) = %v %v, want %s %q %v", tc.guest, fp, ok, tc.share, tc.rel, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		back, ok := m.Guest(fp)
		if !ok || back != cleanPath(tc.guest) {
			t.Errorf("Guest(%v) = %q %v, want %q", fp, back, ok, tc.guest)
		}
	}
}

func cleanPath(p string) string {
	m := map[string]string{"/home/u/./a/../b": "/home/u/b"}
	if c, ok := m[p]; ok {
		return c
	}
	return p
}

func TestMapperGuestRefusesWaysOut(t *testing.T) {
	m := NewMapper(testShares)
	for _, fp := range []*apiv1.FilePath{
		{Share: "share0", Path: "../etc"},
		{Share: "share0", Path: "/etc"},
		{Share: "share0", Path: "a/../../etc"},
		{Share: "share0", Path: ".."},
		{Share: "nope", Path: "a"},
	} {
		if p, ok := m.Guest(fp); ok {
			t.Errorf("Guest(%v) = %q, want refused", fp, p)
		}
	}
}

func TestMapperRootsOnceEachAndNoneInsideAnother(t *testing.T) {
	m := NewMapper(testShares)
	got := m.Roots([]string{"/home/u/src/app/sub", "/home/u/x", "/home/u/src/app", "/home/u/x", "/var/lib/y", "/opt/ro/z", "/home/u/x2"})
	want := []*apiv1.FilePath{{Share: "share0", Path: "x"}, {Share: "share0", Path: "x2"}, {Share: "share1", Path: "app"}}
	if len(got) != len(want) {
		t.Fatalf("Roots = %v, want %v", got, want)
	}
	for i := range want {
		if got[i].GetShare() != want[i].GetShare() || got[i].GetPath() != want[i].GetPath() {
			t.Fatalf("Roots = %v, want %v", got, want)
		}
	}
	if r := m.Roots([]string{"/home/u", "/home/u/a"}); len(r) != 1 || r[0].GetPath() != "" {
		t.Fatalf("a share's root holds everything in it: %v", r)
	}
}

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/skiffrun/skiff/guest/image"
)

// TestLoads loads the archive into the agent's image store and checks
// what a container would see.
func TestLoads(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the image store restores file ownership")
	}
	s, err := image.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := s.Load(context.Background(), bytes.NewReader(build(t, "arm64")), nil)
	if err != nil || !slices.Equal(loaded, []string{"localhost/busybox:latest"}) {
		t.Fatalf("Load: %v, %v", loaded, err)
	}
	img, err := s.Get(context.Background(), "localhost/busybox")
	if err != nil {
		t.Fatal(err)
	}
	if img.Architecture != "arm64" || img.Variant != "v8" || img.OS != "linux" || !img.Created.Equal(epoch) ||
		!slices.Equal(img.Config.Cmd, []string{"sh"}) || !slices.Equal(img.Config.Env, []string{defaultPath}) {
		t.Errorf("image %+v config %v", img, img.Config)
	}
	root := img.Layers[0]
	for _, a := range testApplets {
		if target, err := os.Readlink(filepath.Join(root, "bin", a)); err != nil || target != "busybox" {
			t.Errorf("bin/%s -> %q, %v", a, target, err)
		}
	}
	if links, err := os.ReadDir(filepath.Join(root, "bin")); err != nil || len(links) != len(testApplets)+1 {
		t.Errorf("bin/ has %d entries, %v; want busybox and its %d applets", len(links), err, len(testApplets))
	}
	modes := map[string]uint32{"tmp": unix.S_IFDIR | 0o1777, "root": unix.S_IFDIR | 0o700, "proc": unix.S_IFDIR | 0o555, "bin/busybox": unix.S_IFREG | 0o755}
	for p, want := range modes {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(root, p), &st); err != nil || st.Mode != want {
			t.Errorf("%s: mode %o, %v; want %o", p, st.Mode, err, want)
		}
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(root, "home/user"), &st); err != nil || st.Uid != 1000 {
		t.Errorf("home/user owner %d, %v", st.Uid, err)
	}
	if pw, err := os.ReadFile(filepath.Join(root, "etc/passwd")); err != nil || string(pw) != passwd {
		t.Errorf("etc/passwd = %q, %v", pw, err)
	}
}

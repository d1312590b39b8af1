package volume

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestCopyUp(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving files other owners needs root")
	}
	src, dst := t.TempDir(), t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Chmod(src, 0o750))
	must(os.Chown(src, 7, 8))
	must(os.MkdirAll(filepath.Join(src, "d", "e"), 0o755))
	must(os.WriteFile(filepath.Join(src, "d", "f"), []byte("content"), 0o600))
	must(os.Chown(filepath.Join(src, "d", "f"), 1000, 1001))
	must(os.Chmod(filepath.Join(src, "d", "f"), 0o4751|os.ModeSetuid))
	must(os.Link(filepath.Join(src, "d", "f"), filepath.Join(src, "hard")))
	must(os.Symlink("d/f", filepath.Join(src, "link")))
	must(os.Lchown(filepath.Join(src, "link"), 1000, 1000))
	must(unix.Mkfifo(filepath.Join(src, "fifo"), 0o640))
	must(os.Chmod(filepath.Join(src, "d", "e"), 0o1777|os.ModeSticky))
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	must(os.Chtimes(filepath.Join(src, "d", "e"), old, old))

	must(CopyUp(src, dst))

	stat := func(p string) *syscall.Stat_t {
		t.Helper()
		st, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		return st.Sys().(*syscall.Stat_t)
	}
	for _, tc := range []struct {
		path     string
		mode     uint32
		uid, gid uint32
	}{
		{"", syscall.S_IFDIR | 0o750, 7, 8},
		{"d/f", syscall.S_IFREG | 0o4751, 1000, 1001},
		{"d/e", syscall.S_IFDIR | 0o1777, 0, 0},
		{"link", syscall.S_IFLNK | 0o777, 1000, 1000},
		{"fifo", syscall.S_IFIFO | 0o640, 0, 0},
	} {
		st := stat(filepath.Join(dst, tc.path))
		if st.Mode != tc.mode || st.Uid != tc.uid || st.Gid != tc.gid {
			t.Errorf("%s: mode %o owner %d:%d, want %o %d:%d", tc.path, st.Mode, st.Uid, st.Gid, tc.mode, tc.uid, tc.gid)
		}
	}
	if a, b := stat(filepath.Join(dst, "d", "f")), stat(filepath.Join(dst, "hard")); a.Ino != b.Ino || a.Nlink != 2 {
		t.Errorf("the hard link became a copy: inodes %d and %d", a.Ino, b.Ino)
	}
	if target, err := os.Readlink(filepath.Join(dst, "link")); err != nil || target != "d/f" {
		t.Errorf("symlink: %q, %v", target, err)
	}
	if data, err := os.ReadFile(filepath.Join(dst, "link")); err != nil || string(data) != "content" {
		t.Errorf("content: %q, %v", data, err)
	}
	if st, err := os.Stat(filepath.Join(dst, "d", "e")); err != nil || !st.ModTime().Equal(old) {
		t.Errorf("the folder's time was not kept: %v", err)
	}

	// A volume with anything in it is left alone.
	must(os.WriteFile(filepath.Join(src, "new"), nil, 0o644))
	must(CopyUp(src, dst))
	if _, err := os.Stat(filepath.Join(dst, "new")); !os.IsNotExist(err) {
		t.Error("CopyUp copied into a volume that was not empty")
	}
	// Nothing at the source, or a file there: nothing to copy.
	empty := t.TempDir()
	must(CopyUp(filepath.Join(src, "missing"), empty))
	must(CopyUp(filepath.Join(src, "new"), empty))
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("copied from a missing source: %v", entries)
	}
}

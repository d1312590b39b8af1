package unpack

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: ownership, device nodes and whiteouts")
	}
}

func lstat(t *testing.T, p string) *unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatalf("lstat %s: %v", p, err)
	}
	return &st
}

func getxattr(p, name string) string {
	buf := make([]byte, 256)
	n, err := unix.Lgetxattr(p, name, buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

func TestApplyEntries(t *testing.T) {
	requireRoot(t)
	owned := func(e entry, uid, gid int) entry { e.hdr.Uid, e.hdr.Gid = uid, gid; return e }
	withXattrs := func(e entry, kv ...string) entry {
		e.hdr.PAXRecords = map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			e.hdr.PAXRecords["SCHILY.xattr."+kv[i]] = kv[i+1]
		}
		return e
	}
	tests := []struct {
		name    string
		entries []entry
		check   func(t *testing.T, layer string)
		size    int64
	}{
		{
			name:    "regular file with owner and mode",
			entries: []entry{owned(file("etc/motd", "hello\n", 0o640), 1000, 1001)},
			size:    6,
			check: func(t *testing.T, layer string) {
				p := filepath.Join(layer, "etc/motd")
				got, _ := os.ReadFile(p)
				st := lstat(t, p)
				if string(got) != "hello\n" || st.Mode != unix.S_IFREG|0o640 || st.Uid != 1000 || st.Gid != 1001 {
					t.Errorf("got %q mode %o owner %d:%d", got, st.Mode, st.Uid, st.Gid)
				}
				if st.Mtim.Sec != mtime.Unix() {
					t.Errorf("mtime %d, want %d", st.Mtim.Sec, mtime.Unix())
				}
				if st := lstat(t, filepath.Join(layer, "etc")); st.Mode != unix.S_IFDIR|0o755 {
					t.Errorf("implicit parent mode %o, want 0755", st.Mode)
				}
			},
		},
		{
			name:    "setuid file",
			entries: []entry{owned(file("bin/su", "x", 0o4755), 0, 0), owned(file("bin/wall", "y", 0o2755), 0, 5)},
			size:    2,
			check: func(t *testing.T, layer string) {
				if st := lstat(t, filepath.Join(layer, "bin/su")); st.Mode != unix.S_IFREG|0o4755 {
					t.Errorf("su mode %o, want 4755", st.Mode)
				}
				if st := lstat(t, filepath.Join(layer, "bin/wall")); st.Mode != unix.S_IFREG|0o2755 || st.Gid != 5 {
					t.Errorf("wall mode %o gid %d, want 2755 and 5", st.Mode, st.Gid)
				}
			},
		},
		{
			name:    "sticky directory keeps its mtime after children",
			entries: []entry{owned(dir("tmp/", 0o1777), 0, 0), file("tmp/a", "", 0o644), dir("tmp/sub/", 0o700), file("tmp/sub/b", "", 0o600)},
			check: func(t *testing.T, layer string) {
				st := lstat(t, filepath.Join(layer, "tmp"))
				if st.Mode != unix.S_IFDIR|0o1777 {
					t.Errorf("mode %o, want 1777", st.Mode)
				}
				if st.Mtim.Sec != mtime.Unix() {
					t.Errorf("mtime %d, want %d", st.Mtim.Sec, mtime.Unix())
				}
				if st := lstat(t, filepath.Join(layer, "tmp/sub")); st.Mtim.Sec != mtime.Unix() || st.Mode != unix.S_IFDIR|0o700 {
					t.Errorf("sub mode %o mtime %d", st.Mode, st.Mtim.Sec)
				}
			},
		},
		{
			name:    "layer root metadata",
			entries: []entry{dir("./", 0o711), file("a", "", 0o644)},
			check: func(t *testing.T, layer string) {
				if st := lstat(t, layer); st.Mode != unix.S_IFDIR|0o711 || st.Mtim.Sec != mtime.Unix() {
					t.Errorf("root mode %o mtime %d", st.Mode, st.Mtim.Sec)
				}
			},
		},
		{
			name:    "symlink is stored, not followed, and chowned itself",
			entries: []entry{owned(symlink("bin/sh", "/bin/busybox"), 7, 8), owned(symlink("abs", "/etc/passwd"), 0, 0)},
			check: func(t *testing.T, layer string) {
				p := filepath.Join(layer, "bin/sh")
				target, err := os.Readlink(p)
				st := lstat(t, p)
				if err != nil || target != "/bin/busybox" || st.Uid != 7 || st.Gid != 8 {
					t.Errorf("target %q %v owner %d:%d", target, err, st.Uid, st.Gid)
				}
			},
		},
		{
			name:    "hard link shares the inode",
			entries: []entry{file("bin/busybox", "elf", 0o755), hardlink("bin/ls", "bin/busybox"), hardlink("/bin/cat", "/bin/busybox")},
			size:    3,
			check: func(t *testing.T, layer string) {
				a, b, c := lstat(t, filepath.Join(layer, "bin/busybox")), lstat(t, filepath.Join(layer, "bin/ls")), lstat(t, filepath.Join(layer, "bin/cat"))
				if a.Ino != b.Ino || a.Ino != c.Ino || a.Nlink != 3 {
					t.Errorf("inodes %d %d %d nlink %d", a.Ino, b.Ino, c.Ino, a.Nlink)
				}
			},
		},
		{
			name: "devices and fifo",
			entries: []entry{
				{hdr: tar.Header{Typeflag: tar.TypeChar, Name: "dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3, ModTime: mtime}},
				{hdr: tar.Header{Typeflag: tar.TypeBlock, Name: "dev/loop0", Mode: 0o660, Devmajor: 7, Devminor: 0, Gid: 6, ModTime: mtime}},
				{hdr: tar.Header{Typeflag: tar.TypeFifo, Name: "run/fifo", Mode: 0o620, ModTime: mtime}},
			},
			check: func(t *testing.T, layer string) {
				if st := lstat(t, filepath.Join(layer, "dev/null")); st.Mode != unix.S_IFCHR|0o666 || st.Rdev != unix.Mkdev(1, 3) {
					t.Errorf("null mode %o rdev %x", st.Mode, st.Rdev)
				}
				if st := lstat(t, filepath.Join(layer, "dev/loop0")); st.Mode != unix.S_IFBLK|0o660 || st.Rdev != unix.Mkdev(7, 0) || st.Gid != 6 {
					t.Errorf("loop0 mode %o rdev %x gid %d", st.Mode, st.Rdev, st.Gid)
				}
				if st := lstat(t, filepath.Join(layer, "run/fifo")); st.Mode != unix.S_IFIFO|0o620 {
					t.Errorf("fifo mode %o", st.Mode)
				}
			},
		},
		{
			name: "xattrs set, overlay ones from the tar dropped",
			entries: []entry{
				withXattrs(file("bin/ping", "p", 0o755), "user.note", "hi", "trusted.overlay.redirect", "/etc", "user.overlay.opaque", "y"),
				withXattrs(dir("data/", 0o755), "user.dir", "d", "trusted.overlay.opaque", "y"),
			},
			size: 1,
			check: func(t *testing.T, layer string) {
				p := filepath.Join(layer, "bin/ping")
				if got := getxattr(p, "user.note"); got != "hi" {
					t.Errorf("user.note = %q", got)
				}
				if got := getxattr(p, "trusted.overlay.redirect"); got != "" {
					t.Errorf("trusted.overlay.redirect from the tar was set: %q", got)
				}
				if got := getxattr(p, "user.overlay.opaque"); got != "" {
					t.Errorf("user.overlay.opaque from the tar was set: %q", got)
				}
				d := filepath.Join(layer, "data")
				if getxattr(d, "user.dir") != "d" || getxattr(d, "trusted.overlay.opaque") != "" {
					t.Errorf("dir xattrs user.dir=%q opaque=%q", getxattr(d, "user.dir"), getxattr(d, "trusted.overlay.opaque"))
				}
			},
		},
		{
			name:    "whiteout becomes a 0:0 character device",
			entries: []entry{file("etc/keep", "", 0o644), file("etc/.wh.gone", "", 0o644), file(".wh.opt", "", 0o644)},
			check: func(t *testing.T, layer string) {
				for _, p := range []string{"etc/gone", "opt"} {
					st := lstat(t, filepath.Join(layer, p))
					if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 || st.Uid != 0 || st.Gid != 0 {
						t.Errorf("%s: mode %o rdev %x owner %d:%d", p, st.Mode, st.Rdev, st.Uid, st.Gid)
					}
				}
				if _, err := os.Lstat(filepath.Join(layer, "etc/.wh.gone")); !os.IsNotExist(err) {
					t.Errorf("the .wh. file itself was written: %v", err)
				}
			},
		},
		{
			name:    "whiteout replaces an entry written earlier in the layer",
			entries: []entry{file("a/b/c", "x", 0o644), file("a/.wh.b", "", 0o644)},
			size:    1,
			check: func(t *testing.T, layer string) {
				if st := lstat(t, filepath.Join(layer, "a/b")); st.Mode&unix.S_IFMT != unix.S_IFCHR {
					t.Errorf("a/b mode %o, want a whiteout", st.Mode)
				}
			},
		},
		{
			name:    "opaque directory",
			entries: []entry{dir("var/", 0o755), dir("var/lib/", 0o755), file("var/lib/.wh..wh..opq", "", 0o644), file("var/lib/new", "n", 0o644), file("var/.wh..wh.plnk", "", 0o644)},
			size:    1,
			check: func(t *testing.T, layer string) {
				if got := getxattr(filepath.Join(layer, "var/lib"), "trusted.overlay.opaque"); got != "y" {
					t.Errorf("opaque xattr = %q, want y", got)
				}
				if got := getxattr(filepath.Join(layer, "var"), "trusted.overlay.opaque"); got != "" {
					t.Errorf("parent marked opaque too: %q", got)
				}
				if _, err := os.Lstat(filepath.Join(layer, "var/.wh..wh.plnk")); !os.IsNotExist(err) {
					t.Errorf("aufs metadata written: %v", err)
				}
			},
		},
		{
			name:    "later entries replace earlier ones",
			entries: []entry{file("x", "file", 0o644), dir("x/", 0o755), file("x/in", "", 0o644), file("x", "file again", 0o600), symlink("y", "x"), file("y", "plain", 0o644), dir("d/", 0o700), dir("d/", 0o755)},
			size:    4 + 10 + 5,
			check: func(t *testing.T, layer string) {
				if got, _ := os.ReadFile(filepath.Join(layer, "x")); string(got) != "file again" {
					t.Errorf("x = %q", got)
				}
				if st := lstat(t, filepath.Join(layer, "y")); st.Mode&unix.S_IFMT != unix.S_IFREG {
					t.Errorf("y mode %o, want a regular file", st.Mode)
				}
				if st := lstat(t, filepath.Join(layer, "d")); st.Mode != unix.S_IFDIR|0o755 {
					t.Errorf("d mode %o, want 0755", st.Mode)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parent, layer := sandbox(t)
			size, err := Apply(context.Background(), layer, bytes.NewReader(layerTar(t, tc.entries...)))
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if size != tc.size {
				t.Errorf("size %d, want %d", size, tc.size)
			}
			tc.check(t, layer)
			checkContained(t, parent)
		})
	}
}

// TestApplyEscapes feeds layers that try to write outside the target.
// Each must fail as an invalid argument, or be neutralised, and leave
// everything outside the target as it was.
func TestApplyEscapes(t *testing.T) {
	tests := []struct {
		name    string
		entries []entry
		// fail reports whether Apply must fail; otherwise check looks
		// at where the entry went instead.
		fail  bool
		check func(t *testing.T, layer string)
	}{
		{name: "dot-dot name", entries: []entry{file("../outside", "pwned", 0o644)}, fail: true},
		{name: "dot-dot in the middle", entries: []entry{file("a/../../outside", "pwned", 0o644)}, fail: true},
		{name: "dot-dot directory", entries: []entry{dir("../x/", 0o755)}, fail: true},
		{
			name:    "absolute name stays inside",
			entries: []entry{file("/outside", "inside", 0o644), file("//a/../b", "b", 0o644)},
			check: func(t *testing.T, layer string) {
				if got, _ := os.ReadFile(filepath.Join(layer, "outside")); string(got) != "inside" {
					t.Errorf("layer/outside = %q", got)
				}
				if got, _ := os.ReadFile(filepath.Join(layer, "b")); string(got) != "b" {
					t.Errorf("layer/b = %q", got)
				}
			},
		},
		{name: "file through a relative symlink", entries: []entry{symlink("up", ".."), file("up/outside", "pwned", 0o644)}, fail: true},
		{name: "file through an absolute symlink", entries: []entry{symlink("tmp", "/tmp"), file("tmp/pwned", "pwned", 0o644)}, fail: true},
		{name: "directory through a symlink", entries: []entry{symlink("up", ".."), dir("up/newdir/", 0o755)}, fail: true},
		{name: "deep path through a symlink", entries: []entry{dir("a/", 0o755), symlink("a/b", "../.."), file("a/b/outside", "pwned", 0o644)}, fail: true},
		{name: "whiteout through a symlink", entries: []entry{symlink("up", ".."), file("up/.wh.outside", "", 0o644)}, fail: true},
		{name: "opaque marker through a symlink", entries: []entry{symlink("up", ".."), file("up/.wh..wh..opq", "", 0o644)}, fail: true},
		{name: "whiteout of dot-dot", entries: []entry{file(".wh...", "", 0o644)}, fail: true},
		{name: "hard link to outside", entries: []entry{hardlink("pw", "../outside")}, fail: true},
		{name: "hard link to an absolute host path", entries: []entry{hardlink("pw", "/etc/passwd")}, fail: true},
		{name: "hard link through a symlink", entries: []entry{symlink("up", ".."), hardlink("pw", "up/outside")}, fail: true},
		{name: "hard link to the layer root", entries: []entry{hardlink("pw", "./")}, fail: true},
		{name: "hard link to a directory", entries: []entry{dir("d/", 0o755), hardlink("pw", "d")}, fail: true},
		{name: "device through a symlink", entries: []entry{symlink("up", ".."), {hdr: tar.Header{Typeflag: tar.TypeChar, Name: "up/null", Mode: 0o666, Devmajor: 1, Devminor: 3}}}, fail: true},
		{
			name:    "file replaces a symlink instead of writing through it",
			entries: []entry{symlink("evil", "../outside"), file("evil", "inside", 0o644)},
			check: func(t *testing.T, layer string) {
				if st := lstat(t, filepath.Join(layer, "evil")); st.Mode&unix.S_IFMT != unix.S_IFREG {
					t.Errorf("evil mode %o, want a regular file", st.Mode)
				}
			},
		},
		{
			name:    "directory replaces a symlink",
			entries: []entry{symlink("evil", ".."), dir("evil/", 0o700)},
			check: func(t *testing.T, layer string) {
				if st := lstat(t, filepath.Join(layer, "evil")); st.Mode != unix.S_IFDIR|0o700 {
					t.Errorf("evil mode %o, want a 0700 directory", st.Mode)
				}
			},
		},
		{
			name:    "hard link to a symlink links the symlink",
			entries: []entry{symlink("evil", "../outside"), hardlink("again", "evil")},
			check: func(t *testing.T, layer string) {
				if st := lstat(t, filepath.Join(layer, "again")); st.Mode&unix.S_IFMT != unix.S_IFLNK {
					t.Errorf("again mode %o, want a symlink", st.Mode)
				}
			},
		},
		{
			name:    "metadata entry for a symlinked name",
			entries: []entry{symlink("evil", "../outside"), {hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: "evil", Linkname: "../outside", Mode: 0o777, Uid: 1234}}},
			check:   func(t *testing.T, layer string) {},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parent, layer := sandbox(t)
			_, err := Apply(context.Background(), layer, bytes.NewReader(layerTar(t, tc.entries...)))
			switch {
			case tc.fail && err == nil:
				t.Fatal("Apply succeeded, want an error")
			case tc.fail && !errdefs.IsInvalidArgument(err):
				t.Fatalf("Apply: %v, want an invalid argument error", err)
			case !tc.fail && err != nil:
				t.Fatalf("Apply: %v", err)
			case !tc.fail:
				tc.check(t, layer)
			}
			checkContained(t, parent)
		})
	}
}

func TestApplyZeroBlocks(t *testing.T) {
	zeros := strings.Repeat("\x00", 3*sparseBlock)
	tests := []struct{ name, body string }{
		{"hole in the middle", "head" + zeros + "tail"},
		{"hole at the end", "head" + zeros},
		{"only zeros", zeros},
		{"short", "x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parent, layer := sandbox(t)
			size, err := Apply(context.Background(), layer, bytes.NewReader(layerTar(t, file("f", tc.body, 0o644))))
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(layer, "f"))
			if err != nil || string(got) != tc.body || size != int64(len(tc.body)) {
				t.Fatalf("read back %d bytes (%v), size %d; want %d", len(got), err, size, len(tc.body))
			}
			checkContained(t, parent)
		})
	}
}

func TestApplyUnprivileged(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("checks what Apply does without root; running as root")
	}
	parent, layer := sandbox(t)
	_, err := Apply(context.Background(), layer, bytes.NewReader(layerTar(t,
		file("a", "x", 0o644),
		entry{hdr: tar.Header{Typeflag: tar.TypeChar, Name: "dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3}},
	)))
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(layer, "dev/null")); !os.IsNotExist(err) {
		t.Errorf("device node created without root: %v", err)
	}
	checkContained(t, parent)
}

func TestApplyCancelled(t *testing.T) {
	_, layer := sandbox(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Apply(ctx, layer, bytes.NewReader(layerTar(t, file("a", "x", 0o644))))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply: %v, want context.Canceled", err)
	}
}

func TestApplyTruncated(t *testing.T) {
	_, layer := sandbox(t)
	data := layerTar(t, file("a", "0123456789", 0o644))
	if _, err := Apply(context.Background(), layer, bytes.NewReader(data[:512+5])); err == nil {
		t.Fatal("Apply of a truncated tar succeeded")
	}
}

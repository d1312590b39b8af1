package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/skiffrun/skiff/guest/unpack"
)

// TestWriteLayerWhiteouts checks that overlayfs's whiteouts in an upper
// directory become OCI ".wh." entries, and that unpacking the tar gives
// the same upper directory back.
func TestWriteLayerWhiteouts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("whiteouts are character devices and trusted xattrs: needs root")
	}
	upper := t.TempDir()
	writeFiles(t, upper, map[string]string{"etc/new.conf": "x", "opaque/kept": "k"})
	if err := unix.Mknod(filepath.Join(upper, "etc", "gone"), unix.S_IFCHR|0o644, 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setxattr(filepath.Join(upper, "opaque"), opaqueXattr, []byte("y"), 0); err != nil {
		t.Skipf("trusted xattrs unsupported here: %v", err)
	}
	if err := os.Link(filepath.Join(upper, "etc/new.conf"), filepath.Join(upper, "etc/hard")); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	if err := Write(upper, &buf); err != nil {
		t.Fatal(err)
	}
	got := map[string]byte{}
	tr := tar.NewReader(bytes.NewReader(buf.Bytes()))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[hdr.Name] = hdr.Typeflag
		for k := range hdr.PAXRecords {
			if k == paxXattr+opaqueXattr {
				t.Errorf("%s carries overlayfs's own xattr", hdr.Name)
			}
		}
	}
	want := map[string]byte{
		"etc/": tar.TypeDir, "etc/.wh.gone": tar.TypeReg, // Entries come in lexical order: the first name of a hard link
		// holds the content.
		"etc/hard": tar.TypeReg, "etc/new.conf": tar.TypeLink,
		"opaque/": tar.TypeDir, "opaque/.wh..wh..opq": tar.TypeReg, "opaque/kept": tar.TypeReg,
	}
	for name, typ := range want {
		if got[name] != typ {
			t.Errorf("entry %s: type %q, want %q (all: %v)", name, got[name], typ, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("entries %v, want %v", got, want)
	}

	back := t.TempDir()
	if _, err := unpack.Apply(context.Background(), back, bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(back, "etc", "gone"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("whiteout did not come back as a 0:0 device: %v %+v", err, st)
	}
	v := make([]byte, 4)
	if n, err := unix.Getxattr(filepath.Join(back, "opaque"), opaqueXattr, v); err != nil || string(v[:n]) != "y" {
		t.Errorf("opaque directory did not come back: %v", err)
	}
}

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

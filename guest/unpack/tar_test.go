package unpack

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// entry is one tar entry of a test layer; body is the content of a
// regular file.
type entry struct {
	hdr  tar.Header
	body string
}

var mtime = time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)

func file(name, body string, mode int64) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body)), ModTime: mtime}, body: body}
}

func dir(name string, mode int64) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, ModTime: mtime}}
}

func symlink(name, target string) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: mtime}}
}

func hardlink(name, target string) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target, ModTime: mtime}}
}

// layerTar writes entries as a tar stream.
func layerTar(tb testing.TB, entries ...entry) []byte {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := e.hdr
		if hdr.Format == tar.FormatUnknown && hdr.PAXRecords != nil {
			hdr.Format = tar.FormatPAX
		}
		if err := tw.WriteHeader(&hdr); err != nil {
			tb.Fatalf("write header %s: %v", hdr.Name, err)
		}
		if e.body != "" {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// sandbox makes parent/layer and a sentinel file parent/outside, the
// target of escape attempts. It returns the layer directory.
func sandbox(tb testing.TB) (parent, layer string) {
	tb.Helper()
	parent = tb.TempDir()
	layer = filepath.Join(parent, "layer")
	if err := os.Mkdir(layer, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(parent, "outside"), []byte("untouched"), 0o644); err != nil {
		tb.Fatal(err)
	}
	// Entries may be left without write or search permission, which
	// would stop the temp dir's removal when not running as root.
	tb.Cleanup(func() {
		_ = filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = os.Chmod(p, 0o755)
			}
			return nil
		})
	})
	return parent, layer
}

// checkContained fails unless parent holds exactly the layer directory
// and the untouched sentinel file.
func checkContained(tb testing.TB, parent string) {
	tb.Helper()
	ents, err := os.ReadDir(parent)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != 2 || names[0] != "layer" || names[1] != "outside" {
		tb.Fatalf("parent of the layer holds %v, want [layer outside]", names)
	}
	if fi, err := os.Lstat(filepath.Join(parent, "layer")); err != nil || !fi.IsDir() {
		tb.Fatalf("layer directory replaced: %v %v", fi, err)
	}
	got, err := os.ReadFile(filepath.Join(parent, "outside"))
	if err != nil || string(got) != "untouched" {
		tb.Fatalf("sentinel outside the layer changed: %q %v", got, err)
	}
	if fi, err := os.Lstat(filepath.Join(parent, "outside")); err != nil || fi.Mode() != 0o644 {
		tb.Fatalf("sentinel outside the layer changed mode: %v %v", fi, err)
	}
}

package unpack

import (
	"archive/tar"
	"bytes"
	"context"
	"testing"
)

// FuzzApply checks the one property every layer must keep, well-formed
// or not: after Apply, nothing outside the target directory exists or
// changed. Run it with go test -fuzz=FuzzApply ./guest/unpack.
func FuzzApply(f *testing.F) {
	seeds := [][]entry{
		{dir("etc/", 0o755), file("etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0o644), symlink("bin/sh", "busybox"), hardlink("bin/ls", "etc/passwd")},
		{file("a/.wh.b", "", 0o644), file("a/.wh..wh..opq", "", 0o644), file(".wh.c", "", 0o644)},
		{file("../outside", "pwned", 0o644)},
		{file("/outside", "abs", 0o644)},
		{symlink("up", ".."), file("up/outside", "pwned", 0o644)},
		{symlink("up", ".."), dir("up/x/", 0o755), hardlink("up/y", "../outside")},
		{symlink("evil", "../outside"), file("evil", "replaced", 0o600), hardlink("again", "evil")},
		{{hdr: tar.Header{Typeflag: tar.TypeChar, Name: "dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3}}, {hdr: tar.Header{Typeflag: tar.TypeFifo, Name: "fifo", Mode: 0o600}}},
		{{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "x", Mode: 0o4755, Format: tar.FormatPAX, PAXRecords: map[string]string{"SCHILY.xattr.user.a": "b", "SCHILY.xattr.trusted.overlay.redirect": "/"}}}},
		{dir("./", 0o700), dir("d/", 0o000), file("d/f", "", 0o000)},
	}
	for _, s := range seeds {
		f.Add(layerTar(f, s...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		parent, layer := sandbox(t)
		// Most inputs are rejected; only what is left on disk matters.
		_, _ = Apply(context.Background(), layer, bytes.NewReader(data))
		checkContained(t, parent)
	})
}

// FuzzApplyFiles checks that an archive copied into a container (skiff
// cp, PUT /archive) writes nothing outside its target either, whiteout
// names included. Run it with go test -fuzz=FuzzApplyFiles ./guest/unpack.
func FuzzApplyFiles(f *testing.F) {
	seeds := [][]entry{
		{dir("etc/", 0o755), file("etc/hosts", "127.0.0.1 localhost\n", 0o644)},
		{file("a/.wh.b", "", 0o644), file(".wh..wh..opq", "", 0o644)},
		{file("../outside", "pwned", 0o644)},
		{file("/outside", "abs", 0o644)},
		{symlink("up", ".."), file("up/outside", "pwned", 0o644)},
		{symlink("abs", "/"), file("abs/outside", "pwned", 0o644)},
		{symlink("evil", "../outside"), file("evil", "replaced", 0o600), hardlink("again", "../outside")},
	}
	for _, s := range seeds {
		f.Add(layerTar(f, s...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		parent, target := sandbox(t)
		_, _ = ApplyFiles(context.Background(), target, bytes.NewReader(data))
		checkContained(t, parent)
	})
}

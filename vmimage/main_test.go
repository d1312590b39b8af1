package main

import (
	"bytes"
	"testing"

	"github.com/skiffrun/skiff/vmimage/cpio"
)

func TestDebFileName(t *testing.T) {
	if got := debFileName("libc6", "1:2.36-9", "arm64"); got != "libc6_1%3a2.36-9_arm64.deb" {
		t.Errorf("debFileName = %q", got)
	}
}

// TestInitramfsIsReproducible checks that the same entries, in any order,
// give the same compressed bytes.
func TestInitramfsIsReproducible(t *testing.T) {
	es := []cpio.Entry{
		{Path: "init", Kind: cpio.File, Mode: 0o755, Data: bytes.Repeat([]byte("agent"), 1000)},
		{Path: "dev/console", Kind: cpio.CharDev, Mode: 0o600, Major: 5, Minor: 1},
		{Path: "images/busybox-amd64.tar", Kind: cpio.File, Mode: 0o644, Data: []byte("tar")},
	}
	a, err := archive(es)
	if err != nil {
		t.Fatal(err)
	}
	b, err := archive([]cpio.Entry{es[2], es[0], es[1]})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("same entries, different initramfs")
	}
	if !bytes.HasPrefix(a, []byte("070701")) {
		t.Errorf("the initramfs starts with %q, want an uncompressed newc archive", a[:6])
	}
}

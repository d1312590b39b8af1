package cpio

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func entries() []Entry {
	return []Entry{
		{Path: "/init", Kind: File, Mode: 0o755, Data: []byte("#!/bin/sh\n")},
		{Path: "dev/console", Kind: CharDev, Mode: 0o600, Major: 5, Minor: 1},
		{Path: "lib/modules/6.1/kernel/a.ko", Kind: File, Mode: 0o644, Data: []byte("abc")},
		{Path: "lib64/ld.so", Kind: Symlink, Mode: 0o777, Data: []byte("/lib/x/ld.so")},
	}
}

func TestWriteIsReproducibleAndSorted(t *testing.T) {
	var a, b bytes.Buffer
	if err := Write(&a, entries()); err != nil {
		t.Fatal(err)
	}
	rev := entries()
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	if err := Write(&b, rev); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("the entries' order changed the archive")
	}
	if a.Len()%4 != 0 || !bytes.HasPrefix(a.Bytes(), []byte("070701")) || !bytes.Contains(a.Bytes(), []byte("TRAILER!!!\x00")) {
		t.Errorf("not a newc archive")
	}
	// Parents come before children: dev, dev/console, init, lib, lib/modules...
	if i, j := bytes.Index(a.Bytes(), []byte("lib\x00")), bytes.Index(a.Bytes(), []byte("lib/modules\x00")); i < 0 || j < i {
		t.Errorf("parent directories missing or out of order")
	}
}

func TestWriteRejects(t *testing.T) {
	for name, e := range map[string][]Entry{
		"duplicate":      {{Path: "a", Kind: File}, {Path: "/a", Kind: File}},
		"escape":         {{Path: "../a", Kind: File}},
		"trailer":        {{Path: "TRAILER!!!", Kind: File}},
		"data on a dir":  {{Path: "d", Kind: Dir, Data: []byte("x")}},
		"unknown kind":   {{Path: "k", Kind: Kind(42)}},
		"root directory": {{Path: "/", Kind: Dir}},
	} {
		t.Run(name, func(t *testing.T) {
			if err := Write(&bytes.Buffer{}, e); err == nil {
				t.Error("no error")
			}
		})
	}
}

// TestCpioReadsIt checks the archive with GNU cpio, when it is installed.
func TestCpioReadsIt(t *testing.T) {
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Skip("cpio is not installed")
	}
	var a bytes.Buffer
	if err := Write(&a, entries()); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("cpio", "-it", "--quiet")
	cmd.Stdin = &a
	cmd.Dir = filepath.Clean(t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "dev\ndev/console\ninit\nlib\nlib/modules\nlib/modules/6.1\nlib/modules/6.1/kernel\nlib/modules/6.1/kernel/a.ko\nlib64\nlib64/ld.so\n"
	if string(out) != want {
		t.Errorf("cpio lists\n%s\nwant\n%s", out, strings.TrimSpace(want))
	}
}

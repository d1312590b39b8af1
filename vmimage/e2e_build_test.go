//go:build e2e

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/skiffrun/skiff/internal/e2eneed"
)

// TestBuildIsReproducible builds the amd64 image twice from the same
// inputs and compares the bytes. It needs apt, dpkg-deb, the kernel's
// build tools (the kernel is built once, then taken from build/kernel),
// and the agent and bundled image (make agent images).
func TestBuildIsReproducible(t *testing.T) {
	for _, tool := range []string{"apt-get", "dpkg-deb", "make", "gcc"} {
		if _, err := exec.LookPath(tool); err != nil {
			unmet(t, "%s is not installed", tool)
		}
	}
	root := filepath.Join("..")
	p := buildPaths{
		agent:  filepath.Join(root, "bin", "skiff-agent-linux-amd64"),
		image:  filepath.Join(root, "build", "images", "busybox-amd64.tar"),
		cache:  filepath.Join(root, "build", "vmimage", "debs"),
		kernel: filepath.Join(root, "build", "kernel"),
	}
	for _, f := range []string{p.agent, p.image} {
		if _, err := os.Stat(f); err != nil {
			unmet(t, "%s is not built (make agent images)", f)
		}
	}
	var outs [2]string
	for i := range outs {
		outs[i] = t.TempDir()
		p.out = outs[i]
		if _, err := build(context.Background(), "amd64", p); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"vmlinux", initramfsFile, "manifest.json"} {
		a, err := os.ReadFile(filepath.Join(outs[0], f))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(outs[1], f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two builds", f)
		}
	}
}

// unmet fails t for a missing prerequisite (see e2eneed).
var unmet = e2eneed.Unmet

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
)

// checkReproducible builds arch's kernel a second time from the same
// inputs in a fresh directory (its own source tree and object tree at
// other paths) and compares the image and the .config with the cached
// build's byte for byte. A cold build takes minutes: make kernel-repro
// runs it, make test does not.
func checkReproducible(ctx context.Context, arch string, p kernelPaths) error {
	first, err := buildKernel(ctx, arch, p)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "skiff-kernel-repro-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	second, err := buildKernel(ctx, arch, kernelPaths{debs: p.debs, dir: tmp})
	if err != nil {
		return fmt.Errorf("second build: %w", err)
	}
	return compareBuilds(arch, first, second)
}

// compareBuilds fails, naming both digests, unless a and b are the same
// bytes.
func compareBuilds(arch string, a, b *builtKernel) error {
	ha, hb := digest(a.image), digest(b.image)
	fmt.Printf("%s: kernel image sha256 %s (cached), %s (rebuilt)\n", arch, ha, hb)
	if !bytes.Equal(a.config, b.config) {
		return fmt.Errorf("the %s kernel's .config differs between two builds of the same inputs", arch)
	}
	if ha != hb || a.release != b.release {
		return fmt.Errorf("the %s kernel is not reproducible: image %s vs %s, release %q vs %q", arch, ha, hb, a.release, b.release)
	}
	return nil
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/zstd"

	"github.com/skiffrun/skiff/guest/emulation"
	"github.com/skiffrun/skiff/vmimage/cpio"
)

// emulatorPackage holds the static qemu-user interpreters.
const emulatorPackage = "qemu-user-static"

// emulatorTargets are the qemu-user targets each machine ships, for the
// image architectures its kernel does not run: on amd64 arm64 and arm
// (i386 would need the kernel's IA32 emulation, or qemu-i386, which
// images rarely need); on arm64 amd64 and arm (the kernel has no 32-bit
// compat, and Apple silicon no AArch32). The agent registers each with
// binfmt_misc (guest/emulation) under Debian's names, after unpacking
// them to the data disk: they are packed (zstd) in emulation.PackedDir,
// with the set's digest as its ID.
var emulatorTargets = map[string][]string{
	"amd64": {"aarch64", "arm"},
	"arm64": {"x86_64", "arm"},
}

// emulatorEntries unpacks qemu-user-static for arch and returns its
// interpreters for the foreign architectures, packed, and their ID as
// initramfs entries. The encoder is single-threaded so the same input
// packs to the same bytes.
func emulatorEntries(ctx context.Context, cache, arch, work string) ([]cpio.Entry, error) {
	debs, err := download(ctx, cache, arch, []string{emulatorPackage})
	if err != nil {
		return nil, err
	}
	root := filepath.Join(work, "qemu")
	if err := extractDeb(ctx, debs[0].file, root); err != nil {
		return nil, err
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	defer func() { _ = enc.Close() }()
	dir := emulation.PackedDir[1:]
	var entries []cpio.Entry
	id := sha256.New()
	for _, t := range emulatorTargets[arch] {
		name := "qemu-" + t + "-static"
		data, err := os.ReadFile(filepath.Join(root, "usr/bin", name))
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", emulatorPackage, debs[0].version, err)
		}
		packed := enc.EncodeAll(data, nil)
		fmt.Fprintf(id, "%s %x\n", name, sha256.Sum256(packed))
		entries = append(entries, cpio.Entry{Path: dir + "/" + name + emulation.PackedSuffix, Kind: cpio.File, Mode: 0o644, Data: packed})
	}
	entries = append(entries, cpio.Entry{Path: dir + "/ID", Kind: cpio.File, Mode: 0o644, Data: []byte(hex.EncodeToString(id.Sum(nil))[:32] + "\n")})
	return entries, nil
}

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/skiffrun/skiff/vmimage/cpio"
)

// emulatorPackage holds the static qemu-user interpreters.
const emulatorPackage = "qemu-user-static"

// emulatorTargets are the qemu-user targets each machine ships, for the
// image architectures its kernel does not run: on amd64 arm64 and arm
// (i386 would need the kernel's IA32 emulation, or qemu-i386, which
// images rarely need); on arm64 amd64 and arm (the kernel has no 32-bit
// compat, and Apple silicon no AArch32). The agent registers each with
// binfmt_misc (guest/emulation), from /usr/bin, under Debian's names.
var emulatorTargets = map[string][]string{
	"amd64": {"aarch64", "arm"},
	"arm64": {"x86_64", "arm"},
}

// emulatorEntries unpacks qemu-user-static for arch and returns its
// interpreters for the foreign architectures as initramfs entries.
func emulatorEntries(ctx context.Context, cache, arch, work string) ([]cpio.Entry, error) {
	debs, err := download(ctx, cache, arch, []string{emulatorPackage})
	if err != nil {
		return nil, err
	}
	root := filepath.Join(work, "qemu")
	if err := extractDeb(ctx, debs[0].file, root); err != nil {
		return nil, err
	}
	var entries []cpio.Entry
	for _, t := range emulatorTargets[arch] {
		p := "usr/bin/qemu-" + t + "-static"
		data, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", emulatorPackage, debs[0].version, err)
		}
		entries = append(entries, cpio.Entry{Path: p, Kind: cpio.File, Mode: 0o755, Data: data})
	}
	return entries, nil
}

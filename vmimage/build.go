package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/skiffrun/skiff/guest/api/wire"
	"github.com/skiffrun/skiff/vmimage/cpio"
	"github.com/skiffrun/skiff/vmimage/kernel"
)

// archInfo is what differs between the architectures.
type archInfo struct {
	// kernelFile is the boot file's name in the output.
	kernelFile string
	// unpack turns the kernel build's image (bzImage, Image) into
	// kernelFile's content.
	unpack func([]byte) ([]byte, error)
}

var arches = map[string]archInfo{
	"amd64": {kernelFile: "vmlinux", unpack: kernel.VMLinux},
	"arm64": {kernelFile: "Image", unpack: kernel.Image},
}

// mkfsPackages hold mkfs.ext4 and the libraries it loads. Which library
// each file needs is read from the ELF files; these are only where to look.
var mkfsPackages = []string{"e2fsprogs", "libext2fs2", "libcom-err2", "libblkid1", "libuuid1", "libc6"}

// Manifest describes one architecture's boot files, for the host to check
// before it boots them. It is written as build/vmimage/<arch>/manifest.json.
type Manifest struct {
	Arch          string `json:"arch"`
	KernelVersion string `json:"kernel_version"`
	// KernelPackage is the Debian source package and version the kernel
	// is built from.
	KernelPackage string   `json:"kernel_package"`
	Kernel        FileInfo `json:"kernel"`
	// BzImage is the compressed kernel, shipped on amd64
	// for Virtualization.framework on Intel Macs, which boots that format
	// and not a vmlinux.
	BzImage   *FileInfo `json:"bzimage,omitempty"`
	Initramfs FileInfo  `json:"initramfs"`
}

// FileInfo names a file next to the manifest and pins its content.
type FileInfo struct {
	File   string `json:"file"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// initramfsFile is the initramfs's name in the output. The kernel tells
// an archive's compression by its content, not its name; the name stays
// what the host's driver opens.
const initramfsFile = "initramfs.cpio"

// bzImageFile is the compressed amd64 kernel's name in the output.
const bzImageFile = "vmlinuz"

type buildPaths struct {
	agent, image, out, cache string
	// kernel is where kernels are built and kept (buildKernel).
	kernel string
}

func build(ctx context.Context, arch string, p buildPaths) (_ *Manifest, err error) {
	ai := arches[arch]
	agentBin, err := os.ReadFile(p.agent)
	if err != nil {
		return nil, fmt.Errorf("read the agent (make agent builds it): %w", err)
	}
	image, err := os.ReadFile(p.image)
	if err != nil {
		return nil, fmt.Errorf("read the bundled image (make images builds it): %w", err)
	}
	work, err := os.MkdirTemp("", "vmimage-"+arch+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	k, err := buildKernel(ctx, arch, kernelPaths{debs: p.cache, dir: p.kernel})
	if err != nil {
		return nil, err
	}
	kernelBytes, err := ai.unpack(k.image)
	if err != nil {
		return nil, fmt.Errorf("unpack kernel %s: %w", k.release, err)
	}
	debs, err := download(ctx, p.cache, arch, mkfsPackages)
	if err != nil {
		return nil, err
	}

	uroot := filepath.Join(work, "userland")
	for _, d := range debs {
		if err := extractDeb(ctx, d.file, uroot); err != nil {
			return nil, err
		}
	}
	mkfs, err := mkfsEntries(uroot)
	if err != nil {
		return nil, err
	}

	entries := []cpio.Entry{
		{Path: wire.AgentPath, Kind: cpio.File, Mode: 0o755, Data: agentBin},
		{Path: "init", Kind: cpio.Symlink, Mode: 0o777, Data: []byte(wire.AgentPath)},
		// The kernel opens /dev/console for init's stdio; without the node
		// Go's runtime opens /dev/null for fds 0-2, or dies.
		{Path: "dev/console", Kind: cpio.CharDev, Mode: 0o600, Major: 5, Minor: 1},
		{Path: "dev/null", Kind: cpio.CharDev, Mode: 0o666, Major: 1, Minor: 3},
		{Path: "images/busybox-" + arch + ".tar", Kind: cpio.File, Mode: 0o644, Data: image},
	}
	entries = append(entries, mkfs...)
	emus, err := emulatorEntries(ctx, p.cache, arch, work)
	if err != nil {
		return nil, err
	}
	entries = append(entries, emus...)
	initramfs, err := archive(entries)
	if err != nil {
		return nil, err
	}

	m := &Manifest{
		Arch:          arch,
		KernelVersion: k.release,
		KernelPackage: k.source,
		Kernel:        fileInfo(ai.kernelFile, kernelBytes),
		Initramfs:     fileInfo(initramfsFile, initramfs),
	}
	files := []struct {
		name string
		data []byte
	}{{ai.kernelFile, kernelBytes}, {initramfsFile, initramfs}}
	if arch == "amd64" {
		bz := fileInfo(bzImageFile, k.image)
		m.BzImage = &bz
		files = append(files, struct {
			name string
			data []byte
		}{bzImageFile, k.image})
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(p.out, 0o755); err != nil {
		return nil, err
	}
	// The manifest goes last: a reader that sees it sees the files it names.
	os.Remove(filepath.Join(p.out, "manifest.json"))
	files = append(files, struct {
		name string
		data []byte
	}{"manifest.json", append(manifest, '\n')})
	for _, f := range files {
		if err := writeFileAtomic(filepath.Join(p.out, f.name), f.data); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// archive is the newc archive of entries. It is not compressed: under
// TCG the kernel takes seconds to gunzip it, and tens of milliseconds to
// copy it.
func archive(entries []cpio.Entry) ([]byte, error) {
	var buf bytes.Buffer
	if err := cpio.Write(&buf, entries); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func fileInfo(name string, data []byte) FileInfo {
	sum := sha256.Sum256(data)
	return FileInfo{File: name, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
}

func writeFileAtomic(name string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}

// rel makes an absolute in-archive path relative ("/lib/x" → "lib/x").
func rel(p string) string { return strings.TrimPrefix(path.Clean(p), "/") }

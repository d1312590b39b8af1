package main

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/skiffrun/skiff/vmimage/cpio"
)

// mkfsEntries returns initramfs entries for /sbin/mkfs.ext4 and what it
// needs to run: its configuration, the shared libraries it loads (found in
// the unpacked packages under root) and the dynamic loader.
func mkfsEntries(root string) ([]cpio.Entry, error) {
	var bin []byte
	var err error
	for _, p := range []string{"sbin/mke2fs", "usr/sbin/mke2fs"} {
		if bin, err = readInRoot(root, p); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("mke2fs in e2fsprogs: %w", err)
	}
	entries := []cpio.Entry{{Path: "sbin/mkfs.ext4", Kind: cpio.File, Mode: 0o755, Data: bin}}
	if conf, err := readInRoot(root, "etc/mke2fs.conf"); err == nil {
		entries = append(entries, cpio.Entry{Path: "etc/mke2fs.conf", Kind: cpio.File, Mode: 0o644, Data: conf})
	}
	libs, err := sharedLibraries(root, bin)
	if err != nil {
		return nil, fmt.Errorf("mkfs.ext4: %w", err)
	}
	for _, p := range slices.Sorted(func(yield func(string) bool) {
		for p := range libs {
			if !yield(p) {
				return
			}
		}
	}) {
		entries = append(entries, cpio.Entry{Path: p, Kind: cpio.File, Mode: 0o755, Data: libs[p]})
	}
	return entries, nil
}

// libDirs are where the loader of a Debian system looks for libraries.
func libDirs(root string) []string {
	var dirs []string
	for _, pat := range []string{"lib/*-linux-gnu", "usr/lib/*-linux-gnu"} {
		m, _ := filepath.Glob(filepath.Join(root, pat))
		for _, d := range m {
			r, _ := filepath.Rel(root, d)
			dirs = append(dirs, filepath.ToSlash(r))
		}
	}
	return append(dirs, "lib", "usr/lib")
}

// sharedLibraries resolves the dynamic loader and, transitively, the
// DT_NEEDED libraries of the ELF bin against the files under root. It
// maps each in-archive path to the file's content.
func sharedLibraries(root string, bin []byte) (map[string][]byte, error) {
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string][]byte{}
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			return nil, fmt.Errorf("read PT_INTERP: %w", err)
		}
		interp := rel(string(bytes.TrimRight(b, "\x00")))
		data, err := readInRoot(root, interp)
		if err != nil {
			return nil, fmt.Errorf("dynamic loader /%s: %w", interp, err)
		}
		out[interp] = data
	}
	dirs := libDirs(root)
	seen := map[string]bool{}
	queue := []*elf.File{f}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		needed, err := cur.ImportedLibraries()
		if err != nil {
			return nil, err
		}
		for _, soname := range needed {
			if seen[soname] {
				continue
			}
			seen[soname] = true
			var found bool
			for _, d := range dirs {
				p := path.Join(d, soname)
				data, err := readInRoot(root, p)
				if errors.Is(err, fs.ErrNotExist) {
					continue
				} else if err != nil {
					return nil, err
				}
				lib, err := elf.NewFile(bytes.NewReader(data))
				if err != nil {
					return nil, fmt.Errorf("%s: %w", p, err)
				}
				defer lib.Close()
				if lib.Machine != f.Machine {
					continue
				}
				out[p] = data
				queue = append(queue, lib)
				found = true
				break
			}
			if !found {
				return nil, fmt.Errorf("no %s in the library packages (%s)", soname, strings.Join(mkfsPackages, ", "))
			}
		}
	}
	return out, nil
}

// readInRoot reads the file at the slash-separated path p inside root,
// following symlinks (absolute ones relative to root) without leaving it.
// Directories on the way must be real directories, as they are in Debian
// packages.
func readInRoot(root, p string) ([]byte, error) {
	p = rel(p)
	for range 40 {
		full := filepath.Join(root, filepath.FromSlash(p))
		st, err := os.Lstat(full)
		if err != nil {
			return nil, err
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			return os.ReadFile(full)
		}
		target, err := os.Readlink(full)
		if err != nil {
			return nil, err
		}
		if path.IsAbs(target) {
			p = rel(target)
		} else {
			p = rel(path.Join(path.Dir(p), target))
		}
		if p == ".." || strings.HasPrefix(p, "../") {
			return nil, fmt.Errorf("%s: symlink leaves the package root", full)
		}
	}
	return nil, fmt.Errorf("%s: too many symlinks", p)
}

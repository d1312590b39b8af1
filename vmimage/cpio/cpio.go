// Package cpio writes the "newc" cpio archives Linux unpacks as an
// initramfs. Archives are reproducible: the caller gives every entry, the
// writer sorts them by path, and owners, mtimes and inode numbers are fixed.
// Compression is left to the caller.
package cpio

import (
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
)

// Kind is the type of an archive entry.
type Kind int

// Entry kinds.
const (
	File Kind = iota
	Dir
	Symlink
	CharDev
)

// Entry is one archive member.
type Entry struct {
	// Path is slash-separated and relative to the archive root ("init",
	// "lib/modules/x.ko"); a leading slash is dropped.
	Path string
	Kind Kind
	// Mode holds the permission bits (0o755).
	Mode uint32
	// Data is a File's content or a Symlink's target.
	Data []byte
	// Major and Minor number a CharDev.
	Major, Minor uint32
}

var kindBits = map[Kind]uint32{File: 0o100000, Dir: 0o040000, Symlink: 0o120000, CharDev: 0o020000}

// Write writes entries as a newc archive, sorted by path, with the parent
// directories of every entry added (mode 0755) where the caller did not
// give them. Two entries with the same path are an error.
func Write(w io.Writer, entries []Entry) error {
	byPath := make(map[string]Entry, len(entries))
	for _, e := range entries {
		p := path.Clean(strings.TrimPrefix(e.Path, "/"))
		if p == "." || p == ".." || strings.HasPrefix(p, "../") || p == trailer {
			return fmt.Errorf("cpio: bad entry path %q", e.Path)
		}
		if _, dup := byPath[p]; dup {
			return fmt.Errorf("cpio: %s given twice", p)
		}
		if _, ok := kindBits[e.Kind]; !ok {
			return fmt.Errorf("cpio: %s: unknown kind %d", p, e.Kind)
		}
		e.Path = p
		byPath[p] = e
	}
	for p := range byPath {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if _, ok := byPath[d]; !ok {
				byPath[d] = Entry{Path: d, Kind: Dir, Mode: 0o755}
			}
		}
	}
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	// Sorting puts every directory before what it holds.
	slices.Sort(paths)
	cw := &countWriter{w: w}
	for i, p := range paths {
		e := byPath[p]
		if e.Kind != File && e.Kind != Symlink && len(e.Data) != 0 {
			return fmt.Errorf("cpio: %s: only files and symlinks have data", p)
		}
		if err := writeEntry(cw, uint32(i+1), e); err != nil {
			return err
		}
	}
	writeHeader(cw, 0, 0, 1, trailer, nil, 0, 0)
	return cw.err
}

// trailer names the entry that ends every archive.
const trailer = "TRAILER!!!"

func writeEntry(w *countWriter, ino uint32, e Entry) error {
	nlink := uint32(1)
	if e.Kind == Dir {
		nlink = 2
	}
	writeHeader(w, ino, kindBits[e.Kind]|e.Mode&0o7777, nlink, e.Path, e.Data, e.Major, e.Minor)
	if w.err != nil {
		return fmt.Errorf("cpio: write %s: %w", e.Path, w.err)
	}
	return nil
}

// writeHeader writes a newc header, the name and the data, each padded
// to 4 bytes. Owner, group and mtime are always 0.
func writeHeader(w *countWriter, ino, mode, nlink uint32, name string, data []byte, major, minor uint32) {
	name += "\x00"
	// magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor,
	// devminor, rdevmajor, rdevminor, namesize, check.
	fmt.Fprintf(w, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		ino, mode, 0, 0, nlink, 0, len(data), 0, 0, major, minor, len(name), 0)
	_, _ = io.WriteString(w, name)
	w.pad()
	_, _ = w.Write(data)
	w.pad()
}

// countWriter tracks the offset for newc's 4-byte alignment and keeps the
// first error, so entries are written without checking every call.
type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	c.err = err
	return n, err
}

func (c *countWriter) pad() {
	if r := c.n % 4; r != 0 {
		_, _ = c.Write(make([]byte, 4-r))
	}
}

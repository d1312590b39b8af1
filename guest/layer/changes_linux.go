package layer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"syscall"

	"golang.org/x/sys/unix"
)

// Kinds of Change, as docker's API numbers them.
const (
	Modified = 0
	Added    = 1
	Deleted  = 2
)

// Change is one path a container changed, as docker diff lists it.
type Change struct {
	// Path is absolute in the container ("/etc/hosts").
	Path string
	Kind int
}

// Changes lists what upper (an overlayfs upper directory) changes over
// lowers (the layer directories below it, lowest first): a whiteout is a
// deletion, a path no lower has an addition, and anything else a
// modification. A directory that is below too is listed only when
// something inside it is, or it is opaque, as docker lists it. skip
// (which may be nil) leaves out paths relative to upper. Paths come
// sorted.
func Changes(upper string, lowers []string, skip func(rel string) bool) ([]Change, error) {
	var out []Change
	// dirs are the directories that are below too, listed when
	// something inside them is.
	dirs := map[string]bool{}
	err := filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(upper, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if skip != nil && skip(rel) {
			return nil
		}
		name := "/" + rel
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("stat %s: no system information", name)
		}
		if fi.Mode()&fs.ModeCharDevice != 0 && st.Rdev == 0 {
			out = append(out, Change{Path: name, Kind: Deleted})
			return nil
		}
		below := lookup(lowers, rel)
		switch {
		case below == nil:
			out = append(out, Change{Path: name, Kind: Added})
		case fi.IsDir() && below.IsDir() && !opaque(p):
			dirs[name] = true
		default:
			out = append(out, Change{Path: name, Kind: Modified})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list changes: %w", err)
	}
	for _, c := range slices.Clone(out) {
		for d := path.Dir(c.Path); d != "/" && dirs[d]; d = path.Dir(d) {
			out = append(out, Change{Path: d, Kind: Modified})
			delete(dirs, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// lookup finds rel in the highest lower layer that has it; nil when none
// does or the highest entry is a whiteout.
func lookup(lowers []string, rel string) fs.FileInfo {
	for i := len(lowers) - 1; i >= 0; i-- {
		fi, err := os.Lstat(filepath.Join(lowers[i], rel))
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
			continue
		}
		if err != nil {
			return nil
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && fi.Mode()&fs.ModeCharDevice != 0 && st.Rdev == 0 {
			return nil
		}
		return fi
	}
	return nil
}

// opaque reports whether directory p is marked opaque: it hides
// everything below it.
func opaque(p string) bool {
	v := make([]byte, 8)
	n, err := unix.Lgetxattr(p, opaqueXattr, v)
	return err == nil && string(v[:n]) == "y"
}

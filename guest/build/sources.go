package build

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	securejoin "github.com/cyphar/filepath-securejoin"
)

// cleanSource cleans a COPY or ADD source into a slash path relative to
// the root it is read from. A source may be written absolute ("/app"
// is the context's app); one that climbs out of the root is refused.
func cleanSource(src string) (string, error) {
	p := path.Clean("/" + filepath.ToSlash(src))
	if strings.HasPrefix(path.Clean(filepath.ToSlash(src)), "../") || path.Clean(filepath.ToSlash(src)) == ".." {
		return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("forbidden path outside the build context: %s", src))
	}
	return strings.TrimPrefix(p, "/"), nil
}

// hasMeta reports whether p is a glob pattern.
func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[\`) }

// matchSources finds what src names under root: the path itself, or
// every path a glob matches, sorted. Symlinks inside root are never
// followed out of it: a source that is a symlink resolves as if root
// were "/". A source that names nothing is an error wrapping
// errdefs.ErrNotFound.
func matchSources(root, src string) ([]string, error) {
	rel, err := cleanSource(src)
	if err != nil {
		return nil, err
	}
	if !hasMeta(rel) {
		p, err := securejoin.SecureJoin(root, rel)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", src, err)
		}
		if _, err := os.Lstat(p); err != nil {
			return nil, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("%q not found in the build context: check the path and .dockerignore", src))
		}
		return []string{p}, nil
	}
	if _, err := path.Match(rel, ""); err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("bad pattern %q: %v", src, err))
	}
	depth := strings.Count(rel, "/") + 1
	var out []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(root, p)
		if r == "." {
			return nil
		}
		r = filepath.ToSlash(r)
		n := strings.Count(r, "/") + 1
		if n == depth {
			if ok, _ := path.Match(rel, r); ok {
				out = append(out, p)
			}
		}
		if d.IsDir() && n >= depth {
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("match %s: %w", src, err)
	}
	if len(out) == 0 {
		return nil, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("no source files were specified: %q matches nothing in the build context", src))
	}
	slices.Sort(out)
	return out, nil
}

// hashSources digests what a COPY would copy from paths: names, modes,
// link targets and content, not times, so that touching a file does not
// miss the cache.
func hashSources(paths []string) (string, error) {
	h := sha256.New()
	buf := make([]byte, 64<<10)
	for _, top := range paths {
		h.Write([]byte("\x00src\x00" + filepath.Base(top)))
		err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := os.Lstat(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(top, p)
			h.Write([]byte("\x00" + filepath.ToSlash(rel) + "\x00" + strconv.FormatUint(uint64(fi.Mode()), 8) + "\x00"))
			switch {
			case fi.Mode()&fs.ModeSymlink != 0:
				target, err := os.Readlink(p)
				if err != nil {
					return err
				}
				h.Write([]byte(target))
			case fi.Mode().IsRegular():
				f, err := os.Open(p)
				if err != nil {
					return err
				}
				_, err = io.CopyBuffer(h, f, buf)
				f.Close()
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.SkipDir) {
			return "", fmt.Errorf("read sources: %w", err)
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

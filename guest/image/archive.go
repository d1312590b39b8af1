package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"

	"github.com/skiffrun/skiff/guest/unpack"
)

// archive is a load archive spread out in a scratch directory. Both
// docker-save layouts put manifest.json last or close to it, so nothing
// can be read before the whole archive has arrived.
type archive struct {
	dir string
	// files holds the regular files, by cleaned name.
	files map[string]bool
	// links holds symlinks and hard links: old docker-save archives link
	// repeated layers to the first copy.
	links map[string]link
}

type link struct {
	target string
	hard   bool
}

// extract reads the (possibly compressed) archive r into dir. Only
// regular files are written, through an os.Root so that no name can
// reach outside dir; links are remembered, never created.
func extract(ctx context.Context, dir string, r io.Reader) (*archive, error) {
	dr, _, err := unpack.Decompress(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errdefs.ErrInvalidArgument, err)
	}
	defer dr.Close()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()

	a := &archive{dir: dir, files: map[string]bool{}, links: map[string]link{}}
	tr := tar.NewReader(dr)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !(errors.Is(err, tar.ErrInsecurePath) && hdr != nil) {
			return nil, fmt.Errorf("%w: read archive: %w", errdefs.ErrInvalidArgument, err)
		}
		name, ok := cleanArchiveName(hdr.Name)
		if !ok {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("archive entry %q is outside the archive", hdr.Name))
		}
		switch hdr.Typeflag {
		case tar.TypeReg:
			if err := a.writeFile(root, name, tr); err != nil {
				return nil, err
			}
		case tar.TypeSymlink:
			a.links[name] = link{target: hdr.Linkname}
		case tar.TypeLink:
			a.links[name] = link{target: hdr.Linkname, hard: true}
		}
	}
	return a, nil
}

func cleanArchiveName(name string) (string, bool) {
	p := path.Clean(strings.TrimLeft(name, "/"))
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", false
	}
	return p, true
}

func (a *archive) writeFile(root *os.Root, name string, r io.Reader) error {
	if d := path.Dir(name); d != "." {
		if err := root.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("%w: archive entry %s: %w", errdefs.ErrInvalidArgument, name, err)
		}
	}
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("%w: archive entry %s: %w", errdefs.ErrInvalidArgument, name, err)
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("read archive entry %s: %w", name, err)
	}
	a.files[name] = true
	delete(a.links, name)
	return nil
}

// path returns the scratch file holding the archive's name, following
// the archive's links.
func (a *archive) path(name string) (string, error) {
	p, ok := cleanArchiveName(name)
	for hops := 0; ok && hops < 16; hops++ {
		if a.files[p] {
			return filepath.Join(a.dir, filepath.FromSlash(p)), nil
		}
		l, isLink := a.links[p]
		if !isLink {
			break
		}
		if l.hard || path.IsAbs(l.target) {
			p, ok = cleanArchiveName(l.target)
		} else {
			p, ok = cleanArchiveName(path.Join(path.Dir(p), l.target))
		}
	}
	return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("archive has no file %s", name))
}

func (a *archive) has(name string) bool {
	return a.files[name]
}

func (a *archive) read(name string) ([]byte, error) {
	p, err := a.path(name)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

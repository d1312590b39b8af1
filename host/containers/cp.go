package containers

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"

	"github.com/skiffrun/skiff/guest/api/chunk"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/host/opts"
)

// CopyOptions are cp's arguments: each a host path, "-" (a tar on
// stdin or stdout) or CONTAINER:PATH.
type CopyOptions struct {
	Src, Dst string
}

// splitCopyArg tells a container path (CONTAINER:PATH) from a host one,
// as docker does: an absolute or ./-relative path is the host's, even
// with a colon in it.
func splitCopyArg(arg string) (container, p string) {
	if filepath.IsAbs(arg) || strings.HasPrefix(arg, ".") {
		return "", arg
	}
	ctr, rest, ok := strings.Cut(arg, ":")
	if !ok || ctr == "" {
		return "", arg
	}
	return ctr, rest
}

// Copy copies between a container and the host, one way or the other.
func Copy(ctx context.Context, c *agentclient.Client, s Streams, o CopyOptions) error {
	srcCtr, src := splitCopyArg(o.Src)
	dstCtr, dst := splitCopyArg(o.Dst)
	switch {
	case srcCtr != "" && dstCtr != "":
		return opts.Usagef("copying between containers is not supported; copy to the host first")
	case srcCtr == "" && dstCtr == "":
		return opts.Usagef("must specify at least one container source, as in: skiff cp web:/etc/hosts .")
	case srcCtr != "":
		return copyFrom(ctx, c, s, srcCtr, src, dst)
	}
	return copyTo(ctx, c, s, src, dstCtr, dst)
}

// GetArchive streams a tar of path p of container ctr to w and returns
// the path's stat, for cp and the Docker API's GET /archive.
func GetArchive(ctx context.Context, c *agentclient.Client, ctr, p string, w io.Writer) (*apiv1.PathStat, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.Archive.Get(ctx, &apiv1.ArchivePathRequest{Container: ctr, Path: p})
	if err != nil {
		return nil, err
	}
	first, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	r := chunk.NewReader(func() ([]byte, error) {
		m, err := stream.Recv()
		return m.GetData(), err
	})
	if _, err := io.Copy(w, r); err != nil {
		return nil, err
	}
	return first.GetStat(), nil
}

// PutArchive extracts the tar r into directory p of container ctr, for
// cp and the Docker API's PUT /archive.
func PutArchive(ctx context.Context, c *agentclient.Client, ctr, p string, r io.Reader) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.Archive.Put(ctx)
	if err != nil {
		return err
	}
	if err := stream.Send(&apiv1.PutArchiveChunk{Options: &apiv1.PutArchiveOptions{Container: ctr, Path: p}}); err != nil {
		_, rerr := stream.CloseAndRecv()
		return errors.Join(err, rerr)
	}
	w := chunk.NewWriter(func(b []byte) error { return stream.Send(&apiv1.PutArchiveChunk{Data: b}) })
	if _, err := io.Copy(w, r); err != nil {
		_, rerr := stream.CloseAndRecv()
		if rerr != nil {
			return rerr
		}
		return err
	}
	if err := w.Flush(); err != nil {
		_, rerr := stream.CloseAndRecv()
		if rerr != nil {
			return rerr
		}
		return err
	}
	_, err = stream.CloseAndRecv()
	return err
}

func copyFrom(ctx context.Context, c *agentclient.Client, s Streams, ctr, src, dst string) error {
	if dst == "-" {
		_, err := GetArchive(ctx, c, ctr, src, s.Out)
		return err
	}
	// Where the copy lands: into dst when it is a directory, else as dst.
	into, rename := dst, ""
	if fi, err := os.Stat(dst); err != nil || !fi.IsDir() {
		into, rename = filepath.Dir(dst), filepath.Base(dst)
		if strings.HasSuffix(dst, string(filepath.Separator)) || strings.HasSuffix(dst, "/") {
			return fmt.Errorf("destination directory %s does not exist: create it first: %w", dst, errdefs.ErrNotFound)
		}
	}
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() { errc <- extract(pr, into, rename) }()
	_, err := GetArchive(ctx, c, ctr, src, pw)
	pw.CloseWithError(err)
	xerr := <-errc
	if err != nil {
		return err
	}
	return xerr
}

func copyTo(ctx context.Context, c *agentclient.Client, s Streams, src, ctr, dst string) error {
	if src == "-" {
		return PutArchive(ctx, c, ctr, dst, s.In)
	}
	if _, err := os.Lstat(src); err != nil {
		return fmt.Errorf("could not find the file %s on the host: %w", src, errdefs.ErrNotFound)
	}
	// Into dst when it is a directory of the container, else as dst.
	into, name := dst, filepath.Base(src)
	st, err := c.Archive.Stat(ctx, &apiv1.ArchivePathRequest{Container: ctr, Path: dst})
	switch {
	case err == nil && fs.FileMode(st.GetMode()).IsDir():
	case err == nil || errdefs.IsNotFound(err):
		into, name = path.Dir(path.Clean("/"+dst)), path.Base(path.Clean("/"+dst))
	default:
		return err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(archive(pw, src, name)) }()
	err = PutArchive(ctx, c, ctr, into, pr)
	pr.Close()
	return err
}

// archive writes a tar of the host path src, its top entry named name.
func archive(w io.Writer, src, name string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(src, func(file string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, file)
		if err != nil {
			return err
		}
		fi, err := os.Lstat(file)
		if err != nil {
			return err
		}
		var link string
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(file); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, filepath.ToSlash(link))
		if err != nil {
			return err
		}
		hdr.Name = path.Join(name, filepath.ToSlash(rel))
		if fi.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uname, hdr.Gname = "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return fmt.Errorf("archive %s: %w", src, err)
	}
	return tw.Close()
}

// extract writes the tar r under the host directory dir, its top entry
// renamed to rename when given. The archive comes from a container, so it
// is not trusted: a name that leaves dir, or a path through a symlink
// (one the archive made, say), is refused and nothing is written outside
// dir.
func extract(r io.Reader, dir, rename string) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			return fmt.Errorf("read the archive: %w", err)
		}
		name := path.Clean(strings.TrimLeft(hdr.Name, "/"))
		if rename != "" {
			_, rest, _ := strings.Cut(name, "/")
			name = path.Join(rename, rest)
		}
		if !filepath.IsLocal(filepath.FromSlash(name)) {
			return fmt.Errorf("archive entry %q is outside the destination: %w", hdr.Name, errdefs.ErrInvalidArgument)
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		if err := noSymlinkBetween(dir, target); err != nil {
			return fmt.Errorf("archive entry %q: %w", hdr.Name, err)
		}
		mode := fs.FileMode(hdr.Mode).Perm()
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			_ = os.Chmod(target, mode)
		case tar.TypeReg:
			if err := writeFile(target, tr, mode); err != nil {
				return err
			}
		case tar.TypeSymlink:
			_ = os.Remove(target)
			if err := os.Symlink(filepath.FromSlash(hdr.Linkname), target); err != nil {
				return fmt.Errorf("create symlink %s: %w", target, err)
			}
		default:
			// Hard links, devices and fifos are not made on the host.
		}
	}
}

// noSymlinkBetween reports an error when a directory between dir and
// target (target itself excluded) is a symlink.
func noSymlinkBetween(dir, target string) error {
	rel, err := filepath.Rel(dir, filepath.Dir(target))
	if err != nil || rel == "." {
		return err
	}
	p := dir
	for _, comp := range strings.Split(rel, string(filepath.Separator)) {
		p = filepath.Join(p, comp)
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("the path goes through the symlink %s: %w", p, errdefs.ErrInvalidArgument)
		}
	}
	return nil
}

// writeFile replaces target with r's content; a symlink at target is
// replaced, never followed.
func writeFile(target string, r io.Reader, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	if fi, err := os.Lstat(target); err == nil && !fi.Mode().IsRegular() {
		if err := os.RemoveAll(target); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

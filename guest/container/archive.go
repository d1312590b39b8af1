package container

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
	securejoin "github.com/cyphar/filepath-securejoin"
	"google.golang.org/grpc"

	"github.com/skiffrun/skiff/guest/api/chunk"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/unpack"
)

// withRoot calls fn with the root of container ref's filesystem: the
// running container's, or, for a stopped one, its layers mounted for the
// time of the call (the container cannot start meanwhile).
func (m *Manager) withRoot(ctx context.Context, ref string, fn func(root string) error) error {
	c, err := m.get(ref)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.run != nil {
		root := c.rec.Rootfs
		c.mu.Unlock()
		return fn(root)
	}
	defer c.mu.Unlock()
	if c.removed {
		return fmt.Errorf("No such container: %s: %w", ref, errdefs.ErrNotFound)
	}
	img, err := m.imageOf(ctx, c.rec)
	if err != nil {
		return err
	}
	root := c.rec.Rootfs
	if err := mountRootfs(img.Layers, filepath.Join(c.dir, "upper"), filepath.Join(c.dir, "work"), root, c.rec.HostConfig.GetAutoRemove()); err != nil {
		return err
	}
	defer func() {
		if err := unmountRootfs(root); err != nil {
			m.log.Error("unmount container rootfs", "id", c.rec.Id, "err", err)
		}
	}()
	return fn(root)
}

// resolve finds p in the container whose root is root: every component
// but the last is resolved as the container would, symlinks kept inside
// root; the last is not followed.
func resolve(root, p string) (string, error) {
	clean := path.Clean("/" + p)
	if clean == "/" {
		return root, nil
	}
	dir, err := securejoin.SecureJoin(root, path.Dir(clean))
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", p, err)
	}
	return filepath.Join(dir, path.Base(clean)), nil
}

func notFound(p string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("Could not find the file %s in container: %w", p, errdefs.ErrNotFound)
	}
	return err
}

func pathStat(name, full string) (*apiv1.PathStat, error) {
	fi, err := os.Lstat(full)
	if err != nil {
		return nil, err
	}
	st := &apiv1.PathStat{Name: name, Size: fi.Size(), Mode: uint32(fi.Mode()), Mtime: fi.ModTime().UnixNano()}
	if fi.Mode()&fs.ModeSymlink != 0 {
		st.LinkTarget, _ = os.Readlink(full)
	}
	return st, nil
}

// StatPath describes path p of container ref.
func (m *Manager) StatPath(ctx context.Context, ref, p string) (st *apiv1.PathStat, err error) {
	err = m.withRoot(ctx, ref, func(root string) error {
		full, err := resolve(root, p)
		if err != nil {
			return err
		}
		st, err = pathStat(path.Base(path.Clean("/"+p)), full)
		return notFound(p, err)
	})
	return st, err
}

// GetArchive writes a tar of path p of container ref to w, after calling
// stat with the path's description. A directory's entries are named
// below its own name, as docker's are.
func (m *Manager) GetArchive(ctx context.Context, ref, p string, stat func(*apiv1.PathStat) error, w io.Writer) error {
	return m.withRoot(ctx, ref, func(root string) error {
		full, err := resolve(root, p)
		if err != nil {
			return err
		}
		base := path.Base(path.Clean("/" + p))
		st, err := pathStat(base, full)
		if err != nil {
			return notFound(p, err)
		}
		if err := stat(st); err != nil {
			return err
		}
		tw := tar.NewWriter(w)
		err = filepath.WalkDir(full, func(file string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			rel, err := filepath.Rel(full, file)
			if err != nil {
				return err
			}
			return addToTar(tw, file, path.Join(base, filepath.ToSlash(rel)))
		})
		if err != nil {
			return fmt.Errorf("archive %s: %w", p, err)
		}
		return tw.Close()
	})
}

func addToTar(tw *tar.Writer, file, name string) error {
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
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	hdr.Name = name
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
}

// PutArchive extracts the tar r into directory p of container ref.
// Nothing lands outside the container's root: names that climb out,
// paths through symlinks and links out are refused (guest/unpack).
func (m *Manager) PutArchive(ctx context.Context, o *apiv1.PutArchiveOptions, r io.Reader) error {
	return m.withRoot(ctx, o.GetContainer(), func(root string) error {
		dir, err := securejoin.SecureJoin(root, path.Clean("/"+o.GetPath()))
		if err != nil {
			return fmt.Errorf("resolve %s: %w", o.GetPath(), err)
		}
		fi, err := os.Stat(dir)
		if err != nil {
			return notFound(o.GetPath(), err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("extraction point %s is not a directory: copy into a directory: %w", o.GetPath(), errdefs.ErrInvalidArgument)
		}
		if _, err := unpack.ApplyFiles(ctx, dir, r); err != nil {
			return fmt.Errorf("copy into %s: %w", o.GetPath(), err)
		}
		return nil
	})
}

// ArchiveService serves the Archive gRPC API from a Manager.
type ArchiveService struct {
	apiv1.UnimplementedArchiveServer
	m *Manager
}

var _ apiv1.ArchiveServer = (*ArchiveService)(nil)

// NewArchiveService returns the Archive service of m.
func NewArchiveService(m *Manager) *ArchiveService { return &ArchiveService{m: m} }

func (s *ArchiveService) Stat(ctx context.Context, req *apiv1.ArchivePathRequest) (*apiv1.PathStat, error) {
	return s.m.StatPath(ctx, req.GetContainer(), req.GetPath())
}

func (s *ArchiveService) Get(req *apiv1.ArchivePathRequest, stream grpc.ServerStreamingServer[apiv1.ArchiveChunk]) error {
	w := chunk.NewWriter(func(b []byte) error { return stream.Send(&apiv1.ArchiveChunk{Data: b}) })
	err := s.m.GetArchive(stream.Context(), req.GetContainer(), req.GetPath(), func(st *apiv1.PathStat) error {
		return stream.Send(&apiv1.ArchiveChunk{Stat: st})
	}, w)
	if err != nil {
		return err
	}
	return w.Flush()
}

func (s *ArchiveService) Put(stream grpc.ClientStreamingServer[apiv1.PutArchiveChunk, apiv1.Empty]) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	o := first.GetOptions()
	if o == nil || o.GetContainer() == "" || strings.TrimSpace(o.GetPath()) == "" {
		return errdefs.ErrInvalidArgument.WithMessage("the first archive message must name the container and the directory")
	}
	r := io.MultiReader(strings.NewReader(string(first.GetData())), chunk.NewReader(func() ([]byte, error) {
		c, err := stream.Recv()
		return c.GetData(), err
	}))
	if err := s.m.PutArchive(stream.Context(), o, r); err != nil {
		return err
	}
	return stream.SendAndClose(&apiv1.Empty{})
}

package unpack

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

const (
	whiteoutPrefix = ".wh."
	// whiteoutMeta starts the names aufs used for its own bookkeeping
	// (.wh..wh.plnk, .wh..wh.aufs); they carry nothing for overlayfs.
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
	opaqueXattr    = "trusted.overlay.opaque"
	paxXattr       = "SCHILY.xattr."
)

// Apply reads the uncompressed layer tar r and writes its entries under
// dir, which must exist, converting whiteouts to overlayfs's form. It
// returns the number of bytes of regular file content written.
//
// Entries are taken as they come: a later entry replaces an earlier one of
// the same name (a directory only replaces a directory's metadata). A name
// that climbs out of dir, a path through a symlink and a hard link to
// anything not already inside dir fail the whole layer with an error
// wrapping errdefs.ErrInvalidArgument; what was written so far stays, so
// callers unpack into a scratch directory they discard on error.
//
// Ownership, modes (setuid, setgid and sticky included), device numbers
// and modification times are restored as root; run as any other user,
// ownership is left to the caller, character and block devices are
// skipped (as docker does in a user namespace) and a whiteout fails, as
// it cannot be represented.
//
// Extended attributes from PAX records are set on regular files and
// directories. Those the kernel refuses as unsupported or not permitted
// (a security.selinux label on a filesystem without SELinux, say) are
// skipped, as docker does. trusted.* and user.overlay.* attributes in the
// tar are always dropped: they steer overlayfs (redirects, metacopy,
// opacity) and must come only from whiteouts converted here.
//
// Apply checks ctx between entries. dir must not be changed by anyone
// else while Apply runs.
func Apply(ctx context.Context, dir string, r io.Reader) (size int64, err error) {
	return apply(ctx, dir, r, false)
}

// ApplyFiles writes the entries of the plain tar r under dir as Apply
// does, with the same refusals of anything that would land outside dir,
// but takes no name as a whiteout: an entry named .wh.* is refused. It is
// for archives copied into a container (skiff cp, the Docker API's PUT
// /archive), which are files, not layers.
func ApplyFiles(ctx context.Context, dir string, r io.Reader) (size int64, err error) {
	return apply(ctx, dir, r, true)
}

func apply(ctx context.Context, dir string, r io.Reader, plain bool) (size int64, err error) {
	root, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("open directory %s: %w", dir, err)
	}
	a := &applier{root: root, asRoot: os.Geteuid() == 0, plain: plain}
	defer unix.Close(root)

	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return size, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		// With GODEBUG=tarinsecurepath=0 the reader flags names it
		// deems unsafe; splitName judges them here either way.
		if err != nil && !(errors.Is(err, tar.ErrInsecurePath) && hdr != nil) {
			return size, fmt.Errorf("read layer tar: %w", err)
		}
		n, err := a.entry(ctx, hdr, tr)
		size += n
		if err != nil {
			return size, fmt.Errorf("layer entry %q: %w", hdr.Name, err)
		}
	}
	// Creating entries touches their directory's mtime, so directories
	// get theirs only once everything is in place.
	if err := a.setDirTimes(); err != nil {
		return size, err
	}
	return size, nil
}

type dirTime struct {
	comps []string
	ts    [2]unix.Timespec
}

type applier struct {
	root   int
	asRoot bool
	// plain refuses whiteouts instead of converting them.
	plain bool
	dirs  []dirTime
}

var errUnsafe = fmt.Errorf("%w: unsafe layer entry", errdefs.ErrInvalidArgument)

// splitName cleans a tar entry name into path components below the
// layer root; nil means the root itself. A leading "/" is dropped, as tar
// and docker do; a name that climbs above the root is rejected.
func splitName(name string) ([]string, error) {
	if strings.IndexByte(name, 0) >= 0 {
		return nil, fmt.Errorf("%w: name contains a NUL byte", errUnsafe)
	}
	p := path.Clean(strings.TrimLeft(name, "/"))
	if p == ".." || strings.HasPrefix(p, "../") {
		return nil, fmt.Errorf("%w: %q is outside the layer", errUnsafe, name)
	}
	if p == "." {
		return nil, nil
	}
	return strings.Split(p, "/"), nil
}

func (a *applier) entry(ctx context.Context, hdr *tar.Header, r io.Reader) (int64, error) {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return 0, nil
	}
	comps, err := splitName(hdr.Name)
	if err != nil {
		return 0, err
	}
	if len(comps) == 0 {
		// "./" carries the layer root's own metadata.
		if hdr.Typeflag != tar.TypeDir {
			return 0, fmt.Errorf("%w: the layer root must be a directory", errUnsafe)
		}
		return 0, a.dir(a.root, ".", nil, hdr)
	}
	base := comps[len(comps)-1]
	parent, err := a.openDir(comps[:len(comps)-1], true)
	if err != nil {
		return 0, err
	}
	defer a.closeDir(parent)

	if strings.HasPrefix(base, whiteoutPrefix) {
		if a.plain {
			return 0, fmt.Errorf("%w: %q is a whiteout name, which an archive of files cannot hold", errUnsafe, hdr.Name)
		}
		return 0, a.whiteout(parent, base)
	}

	switch hdr.Typeflag {
	case tar.TypeDir:
		return 0, a.dir(parent, base, comps, hdr)
	case tar.TypeReg, tar.TypeGNUSparse:
		return a.file(ctx, parent, base, hdr, r)
	case tar.TypeSymlink:
		return 0, a.symlink(parent, base, hdr)
	case tar.TypeLink:
		return 0, a.hardlink(parent, base, comps, hdr)
	case tar.TypeChar, tar.TypeBlock:
		if !a.asRoot {
			return 0, nil
		}
		return 0, a.node(parent, base, hdr)
	case tar.TypeFifo:
		return 0, a.node(parent, base, hdr)
	default:
		return 0, fmt.Errorf("%w: unsupported tar entry type %q", errdefs.ErrInvalidArgument, hdr.Typeflag)
	}
}

func (a *applier) whiteout(parent int, base string) error {
	switch {
	case base == whiteoutOpaque:
		if err := unix.Fsetxattr(parent, opaqueXattr, []byte("y"), 0); err != nil {
			return fmt.Errorf("mark directory opaque: %w", err)
		}
		return nil
	case strings.HasPrefix(base, whiteoutMeta):
		return nil
	}
	name := strings.TrimPrefix(base, whiteoutPrefix)
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("%w: whiteout %q names nothing", errUnsafe, base)
	}
	if _, err := makeRoom(parent, name, false); err != nil {
		return err
	}
	if err := unix.Mknodat(parent, name, unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("create whiteout for %s: %w", name, err)
	}
	return nil
}

func (a *applier) dir(parent int, name string, comps []string, hdr *tar.Header) error {
	exists := true
	if comps != nil {
		var err error
		if exists, err = makeRoom(parent, name, true); err != nil {
			return err
		}
	}
	if !exists {
		if err := unix.Mkdirat(parent, name, 0o700); err != nil {
			return fmt.Errorf("create directory: %w", err)
		}
	}
	fd, err := unix.Openat(parent, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open directory: %w", err)
	}
	defer unix.Close(fd)
	if err := a.fdMeta(fd, hdr); err != nil {
		return err
	}
	a.dirs = append(a.dirs, dirTime{comps: comps, ts: times(hdr)})
	return nil
}

func (a *applier) file(ctx context.Context, parent int, name string, hdr *tar.Header, r io.Reader) (int64, error) {
	if _, err := makeRoom(parent, name, false); err != nil {
		return 0, err
	}
	fd, err := unix.Openat(parent, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return 0, fmt.Errorf("create file: %w", err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	n, err := copySparse(ctx, f, r)
	if err != nil {
		return n, fmt.Errorf("write file: %w", err)
	}
	if err := a.fdMeta(fd, hdr); err != nil {
		return n, err
	}
	if err := f.Close(); err != nil {
		return n, fmt.Errorf("write file: %w", err)
	}
	return n, setTimes(parent, name, hdr)
}

func (a *applier) symlink(parent int, name string, hdr *tar.Header) error {
	if hdr.Linkname == "" {
		return fmt.Errorf("%w: symlink with an empty target", errdefs.ErrInvalidArgument)
	}
	if _, err := makeRoom(parent, name, false); err != nil {
		return err
	}
	// The target is only data: it is stored, never resolved here.
	if err := unix.Symlinkat(hdr.Linkname, parent, name); err != nil {
		return fmt.Errorf("create symlink: %w", err)
	}
	if a.asRoot {
		if err := unix.Fchownat(parent, name, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("chown symlink: %w", err)
		}
	}
	return setTimes(parent, name, hdr)
}

func (a *applier) hardlink(parent int, name string, comps []string, hdr *tar.Header) error {
	target, err := splitName(hdr.Linkname)
	if err != nil {
		return err
	}
	if len(target) == 0 {
		return fmt.Errorf("%w: hard link to the layer root", errUnsafe)
	}
	if slices.Equal(target, comps) {
		return nil
	}
	tparent, err := a.openDir(target[:len(target)-1], false)
	if err != nil {
		return fmt.Errorf("%w: hard link target %q is not in the layer: %w", errUnsafe, hdr.Linkname, err)
	}
	defer a.closeDir(tparent)
	tbase := target[len(target)-1]
	var st unix.Stat_t
	if err := unix.Fstatat(tparent, tbase, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("%w: hard link target %q is not in the layer", errUnsafe, hdr.Linkname)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return fmt.Errorf("%w: hard link to directory %q", errUnsafe, hdr.Linkname)
	}
	if _, err := makeRoom(parent, name, false); err != nil {
		return err
	}
	// No AT_SYMLINK_FOLLOW: a link to a symlink links the symlink itself.
	if err := unix.Linkat(tparent, tbase, parent, name, 0); err != nil {
		return fmt.Errorf("create hard link: %w", err)
	}
	return nil
}

func (a *applier) node(parent int, name string, hdr *tar.Header) error {
	mode := uint32(unix.S_IFIFO)
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode = unix.S_IFCHR
	case tar.TypeBlock:
		mode = unix.S_IFBLK
	}
	if _, err := makeRoom(parent, name, false); err != nil {
		return err
	}
	dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	if err := unix.Mknodat(parent, name, mode|0o600, int(dev)); err != nil {
		return fmt.Errorf("create device node: %w", err)
	}
	if a.asRoot {
		if err := unix.Fchownat(parent, name, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("chown device node: %w", err)
		}
	}
	if err := chmodNoFollow(parent, name, uint32(hdr.Mode)&0o7777); err != nil {
		return err
	}
	return setTimes(parent, name, hdr)
}

// fdMeta sets ownership, mode and xattrs on an open file or directory.
// Ownership goes first, as chown clears setuid and setgid.
func (a *applier) fdMeta(fd int, hdr *tar.Header) error {
	if a.asRoot {
		if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
			return fmt.Errorf("chown: %w", err)
		}
	}
	if err := unix.Fchmod(fd, uint32(hdr.Mode)&0o7777); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, paxXattr)
		if !ok || strings.HasPrefix(name, "trusted.") || strings.HasPrefix(name, "user.overlay.") {
			continue
		}
		err := unix.Fsetxattr(fd, name, []byte(v), 0)
		if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EPERM) {
			continue
		}
		if err != nil {
			return fmt.Errorf("set xattr %s: %w", name, err)
		}
	}
	return nil
}

package build

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// copyOptions say how COPY and ADD write what they copy.
type copyOptions struct {
	// owner, when set, owns everything copied and every directory
	// created; otherwise context files belong to root and files from a
	// stage or image keep their owners.
	owner *[2]int
	// keepOwner keeps the sources' owners (a stage's or image's files).
	keepOwner bool
	// mode, when set, replaces the permission bits of what is copied.
	mode *fs.FileMode
}

func (o copyOptions) ids(fi fs.FileInfo) (int, int) {
	if o.owner != nil {
		return o.owner[0], o.owner[1]
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && o.keepOwner {
		return int(st.Uid), int(st.Gid)
	}
	return 0, 0
}

func (o copyOptions) dirOwner() (int, int) {
	if o.owner != nil {
		return o.owner[0], o.owner[1]
	}
	return 0, 0
}

// destIsDir reports whether COPY's destination is a directory: written
// with a trailing slash, given several sources, or one there already.
func destIsDir(rootfs, dest string, nsrc int) bool {
	if strings.HasSuffix(dest, "/") || nsrc > 1 {
		return true
	}
	p, err := securejoin.SecureJoin(rootfs, dest)
	if err != nil {
		return false
	}
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// copyInto copies srcs (host paths) into rootfs at dest, an absolute
// path in the image, as COPY does: a directory's contents, not the
// directory itself; a file into dest when dest is a directory, else as
// dest.
func copyInto(rootfs string, srcs []string, dest string, o copyOptions) error {
	asDir := destIsDir(rootfs, dest, len(srcs))
	for _, src := range srcs {
		fi, err := os.Stat(src)
		if err != nil {
			return fmt.Errorf("copy %s: %w", filepath.Base(src), err)
		}
		if fi.IsDir() {
			if err := copyTree(rootfs, src, dest, o); err != nil {
				return err
			}
			continue
		}
		target := path.Clean(dest)
		if asDir {
			target = path.Join(dest, filepath.Base(src))
		}
		uid, gid := o.dirOwner()
		if _, err := mkdirAllOwned(rootfs, path.Dir(target), uid, gid); err != nil {
			return err
		}
		if err := copyEntry(rootfs, src, target, fi, o); err != nil {
			return err
		}
	}
	return nil
}

// copyTree copies the contents of directory src to dir in rootfs.
func copyTree(rootfs, src, dir string, o copyOptions) error {
	uid, gid := o.dirOwner()
	if _, err := mkdirAllOwned(rootfs, dir, uid, gid); err != nil {
		return err
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("copy %s: %w", p, err)
		}
		rel, err := filepath.Rel(src, p)
		if err != nil || rel == "." {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		return copyEntry(rootfs, p, path.Join(dir, filepath.ToSlash(rel)), fi, o)
	})
}

// copyEntry copies one file, directory or symlink to target in rootfs.
// target's parent is resolved inside rootfs; target itself, if a
// symlink, is replaced rather than followed.
func copyEntry(rootfs, src, target string, fi fs.FileInfo, o copyOptions) error {
	parent, err := securejoin.SecureJoin(rootfs, path.Dir(target))
	if err != nil {
		return fmt.Errorf("copy to %s: %w", target, err)
	}
	dst := filepath.Join(parent, path.Base(target))
	uid, gid := o.ids(fi)
	mode := fi.Mode()
	if o.mode != nil && mode&fs.ModeSymlink == 0 {
		mode = mode&^fs.ModePerm | *o.mode
	}
	switch {
	case fi.IsDir():
		if existing, err := os.Lstat(dst); err == nil && !existing.IsDir() {
			if err := os.Remove(dst); err != nil {
				return fmt.Errorf("copy to %s: %w", target, err)
			}
		}
		if err := os.Mkdir(dst, 0o755); err != nil && !os.IsExist(err) {
			return fmt.Errorf("copy to %s: %w", target, err)
		}
	case fi.Mode()&fs.ModeSymlink != 0:
		link, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := removeNonDir(dst); err != nil {
			return fmt.Errorf("copy to %s: %w", target, err)
		}
		if err := os.Symlink(link, dst); err != nil {
			return fmt.Errorf("copy to %s: %w", target, err)
		}
		if err := os.Lchown(dst, uid, gid); err != nil {
			return fmt.Errorf("copy to %s: %w", target, err)
		}
		return unix.Lutimes(dst, []unix.Timeval{unix.NsecToTimeval(fi.ModTime().UnixNano()), unix.NsecToTimeval(fi.ModTime().UnixNano())})
	case fi.Mode().IsRegular():
		if err := removeNonDir(dst); err != nil {
			return fmt.Errorf("copy to %s: %w", target, err)
		}
		if err := copyFile(src, dst); err != nil {
			return fmt.Errorf("copy to %s: %w", target, err)
		}
	default:
		// Sockets, pipes and devices are not copied, as with docker.
		return nil
	}
	if err := os.Lchown(dst, uid, gid); err != nil {
		return fmt.Errorf("copy to %s: %w", target, err)
	}
	if err := unix.Fchmodat(unix.AT_FDCWD, dst, unixMode(mode), 0); err != nil {
		return fmt.Errorf("copy to %s: %w", target, err)
	}
	return os.Chtimes(dst, time.Time{}, fi.ModTime())
}

func removeNonDir(p string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return nil
	}
	if fi.IsDir() {
		return fmt.Errorf("cannot replace directory with a file")
	}
	return os.Remove(p)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// unixMode turns Go's mode bits into chmod's, setuid, setgid and sticky
// included.
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= unix.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		u |= unix.S_ISGID
	}
	if m&fs.ModeSticky != 0 {
		u |= unix.S_ISVTX
	}
	return u
}

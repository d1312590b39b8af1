package volume

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// CopyUp fills the empty folder dst with the tree at src, keeping owners,
// modes, times, symbolic and hard links, device nodes, FIFOs and extended
// attributes: docker's copy of an image's content into a new volume. It
// does nothing when src is missing or not a folder, or when dst has
// anything in it.
func CopyUp(src, dst string) error {
	st, err := os.Lstat(src)
	if err != nil || !st.IsDir() {
		return nil
	}
	empty, err := isEmpty(dst)
	if err != nil || !empty {
		return err
	}
	c := copier{links: map[inode]string{}}
	if err := c.tree(src, dst); err != nil {
		return fmt.Errorf("copy %s into the volume: %w", src, err)
	}
	// The volume's root takes the folder's owner and mode, as docker's.
	return c.meta(src, dst, st, true)
}

func isEmpty(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return false, err
}

type inode struct{ dev, ino uint64 }

type copier struct {
	// links maps a file with several names to its first copy.
	links map[inode]string
}

// tree copies the entries of the folder src into the folder dst.
func (c *copier) tree(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		s, d := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		if err := c.entry(s, d); err != nil {
			return err
		}
	}
	return nil
}

func (c *copier) entry(src, dst string) error {
	st, err := os.Lstat(src)
	if err != nil {
		return err
	}
	sys := st.Sys().(*syscall.Stat_t)
	if !st.IsDir() && sys.Nlink > 1 {
		key := inode{uint64(sys.Dev), sys.Ino}
		if first, ok := c.links[key]; ok {
			return os.Link(first, dst)
		}
		c.links[key] = dst
	}
	switch mode := st.Mode(); {
	case mode.IsDir():
		if err := os.Mkdir(dst, 0o700); err != nil {
			return err
		}
		if err := c.tree(src, dst); err != nil {
			return err
		}
	case mode.IsRegular():
		if err := copyFile(src, dst); err != nil {
			return err
		}
	case mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
	case mode&(fs.ModeDevice|fs.ModeNamedPipe|fs.ModeCharDevice) != 0:
		if err := unix.Mknod(dst, sys.Mode, int(sys.Rdev)); err != nil {
			return err
		}
	default:
		// Sockets belong to a process that is not there any more.
		return nil
	}
	return c.meta(src, dst, st, false)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// meta gives dst src's owner, extended attributes, mode and times, in
// that order: chown clears set-id bits, so the mode comes after it.
func (c *copier) meta(src, dst string, st fs.FileInfo, root bool) error {
	sys := st.Sys().(*syscall.Stat_t)
	if err := os.Lchown(dst, int(sys.Uid), int(sys.Gid)); err != nil {
		return err
	}
	if err := copyXattrs(src, dst); err != nil {
		return err
	}
	if st.Mode()&fs.ModeSymlink == 0 {
		if err := unix.Chmod(dst, sys.Mode&0o7777); err != nil {
			return err
		}
	}
	if root {
		return nil
	}
	ts := []unix.Timespec{unix.NsecToTimespec(sys.Atim.Nano()), unix.NsecToTimespec(sys.Mtim.Nano())}
	return unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW)
}

func copyXattrs(src, dst string) error {
	size, err := unix.Llistxattr(src, nil)
	if err != nil || size <= 0 {
		// No attributes, or a file system without them.
		return nil
	}
	buf := make([]byte, size)
	n, err := unix.Llistxattr(src, buf)
	if err != nil {
		return nil
	}
	var errs []error
	for _, name := range splitNul(buf[:n]) {
		vsize, err := unix.Lgetxattr(src, name, nil)
		if err != nil {
			continue
		}
		val := make([]byte, vsize)
		vn, err := unix.Lgetxattr(src, name, val)
		if err != nil {
			continue
		}
		if err := unix.Lsetxattr(dst, name, val[:vn], 0); err != nil && !errors.Is(err, unix.ENOTSUP) && !errors.Is(err, unix.EPERM) {
			errs = append(errs, fmt.Errorf("copy attribute %s of %s: %w", name, src, err))
		}
	}
	return errors.Join(errs...)
}

func splitNul(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == 0 {
			if i > start {
				out = append(out, string(b[start:i]))
			}
			start = i + 1
		}
	}
	return out
}

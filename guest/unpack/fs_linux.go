package unpack

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The helpers below work on directory file descriptors and never follow
// a symlink, so that nothing a layer created can redirect a write.

// openDir opens the directory at comps below the root, never following a
// symlink. With create, missing directories are made (0755, like docker
// does for parents a tar leaves out). The caller closes the result with
// closeDir.
func (a *applier) openDir(comps []string, create bool) (int, error) {
	cur := a.root
	for i, c := range comps {
		next, err := unix.Openat(cur, c, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) && create {
			if err = unix.Mkdirat(cur, c, 0o755); err == nil || errors.Is(err, unix.EEXIST) {
				next, err = unix.Openat(cur, c, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			}
		}
		a.closeDir(cur)
		if err != nil {
			p := strings.Join(comps[:i+1], "/")
			if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
				return -1, fmt.Errorf("%w: %s is not a directory (symlinks in a layer are never followed)", errUnsafe, p)
			}
			return -1, fmt.Errorf("open %s: %w", p, err)
		}
		cur = next
	}
	return cur, nil
}

func (a *applier) closeDir(fd int) {
	if fd >= 0 && fd != a.root {
		unix.Close(fd)
	}
}

// makeRoom makes room for a new entry called name in parent. It reports
// whether a directory is already there and was kept, which happens only
// when keepDir is set.
func makeRoom(parent int, name string, keepDir bool) (bool, error) {
	var st unix.Stat_t
	err := unix.Fstatat(parent, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("stat %s: %w", name, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		if keepDir {
			return true, nil
		}
		return false, removeAll(parent, name)
	}
	if err := unix.Unlinkat(parent, name, 0); err != nil {
		return false, fmt.Errorf("remove %s: %w", name, err)
	}
	return false, nil
}

// removeAll removes name in parent and, when it is a directory,
// everything below it, without following symlinks.
func removeAll(parent int, name string) error {
	err := unix.Unlinkat(parent, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	fd, err := unix.Openat(parent, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	d := os.NewFile(uintptr(fd), name)
	names, err := d.Readdirnames(-1)
	if err == nil {
		for _, n := range names {
			if err = removeAll(fd, n); err != nil {
				break
			}
		}
	}
	d.Close()
	if err != nil {
		return err
	}
	if err := unix.Unlinkat(parent, name, unix.AT_REMOVEDIR); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}

// chmodNoFollow changes the mode of name in parent, which the caller just
// created and knows not to be a symlink. fchmodat2 honours
// AT_SYMLINK_NOFOLLOW; kernels before 6.6 lack it, and there plain
// fchmodat is safe because nobody else writes to the directory.
func chmodNoFollow(parent int, name string, mode uint32) error {
	err := unix.Fchmodat(parent, name, mode, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		err = unix.Fchmodat(parent, name, mode, 0)
	}
	if err != nil {
		return fmt.Errorf("chmod %s: %w", name, err)
	}
	return nil
}

func timespec(t time.Time) unix.Timespec {
	if t.IsZero() {
		return unix.Timespec{Nsec: unix.UTIME_OMIT}
	}
	return unix.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

func times(hdr *tar.Header) [2]unix.Timespec {
	atime := hdr.AccessTime
	if atime.IsZero() {
		atime = hdr.ModTime
	}
	return [2]unix.Timespec{timespec(atime), timespec(hdr.ModTime)}
}

func setTimes(parent int, name string, hdr *tar.Header) error {
	ts := times(hdr)
	if err := unix.UtimesNanoAt(parent, name, ts[:], unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times of %s: %w", name, err)
	}
	return nil
}

func (a *applier) setDirTimes() error {
	for _, d := range a.dirs {
		if len(d.comps) == 0 {
			if err := unix.UtimesNanoAt(a.root, ".", d.ts[:], 0); err != nil {
				return fmt.Errorf("set times of the layer root: %w", err)
			}
			continue
		}
		parent, err := a.openDir(d.comps[:len(d.comps)-1], false)
		if err != nil {
			// A later entry replaced or removed it.
			continue
		}
		err = unix.UtimesNanoAt(parent, d.comps[len(d.comps)-1], d.ts[:], unix.AT_SYMLINK_NOFOLLOW)
		a.closeDir(parent)
		if err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("set times of %s: %w", strings.Join(d.comps, "/"), err)
		}
	}
	return nil
}

// writebackChunk is how much of a file is written before the kernel is
// asked to start putting it on disk.
const writebackChunk = 8 << 20

// copySparse copies a file's content, seeking over blocks of zeros
// instead of writing them. A tar can declare a sparse file of any size in
// a few bytes; written out in full, it would fill the disk. It checks ctx
// between blocks, as one entry can be arbitrarily long.
func copySparse(ctx context.Context, f *os.File, r io.Reader) (int64, error) {
	buf := make([]byte, sparseBlock)
	var n, flushed int64
	holeAtEnd := false
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		m, rerr := fill(r, buf)
		if m > 0 {
			chunk := buf[:m]
			if isZero(chunk) {
				if _, err := f.Seek(int64(m), io.SeekCurrent); err != nil {
					return n, err
				}
				holeAtEnd = true
			} else {
				if _, err := f.Write(chunk); err != nil {
					return n, err
				}
				holeAtEnd = false
			}
			n += int64(m)
			if n-flushed >= writebackChunk {
				// The store syncs the whole layer at the end; starting the
				// writeback of a big file now lets the disk work while the
				// layer is still being read. Only a hint: errors do not
				// matter.
				_ = unix.SyncFileRange(int(f.Fd()), flushed, n-flushed, unix.SYNC_FILE_RANGE_WRITE)
				flushed = n
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return n, rerr
		}
	}
	if holeAtEnd {
		// Seeking alone does not extend the file.
		if err := f.Truncate(n); err != nil {
			return n, err
		}
	}
	return n, nil
}

// fill reads until buf is full or r fails. Unlike io.ReadFull it hands
// back r's own error, so a truncated tar is not taken for a short file.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

const sparseBlock = 64 << 10

var zeroBlock = make([]byte, sparseBlock)

func isZero(b []byte) bool {
	return bytes.Equal(b, zeroBlock[:len(b)])
}

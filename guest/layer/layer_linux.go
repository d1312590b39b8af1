package layer

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
	opaqueXattr    = "trusted.overlay.opaque"
	paxXattr       = "SCHILY.xattr."
)

// Write writes the overlayfs upper directory upper as an OCI layer
// tar to w: a 0:0 character device (overlayfs's whiteout) becomes an
// empty ".wh.NAME" file, and a directory marked opaque gets a
// ".wh..wh..opq" entry. overlayfs's own trusted.overlay.* attributes are
// left out; other extended attributes are kept. Entries come in lexical
// order, hard links as links to the first name seen.
func Write(upper string, w io.Writer) error {
	return WriteSkipping(upper, w, nil)
}

// WriteSkipping is Write leaving out the paths (relative to upper, with
// slashes) for which skip reports true.
func WriteSkipping(upper string, w io.Writer, skip func(rel string) bool) error {
	tw := tar.NewWriter(w)
	links := map[[2]uint64]string{}
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
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("stat %s: no system information", rel)
		}
		if fi.Mode()&fs.ModeCharDevice != 0 && st.Rdev == 0 {
			dir, base := filepath.Split(rel)
			return tw.WriteHeader(&tar.Header{Name: dir + whiteoutPrefix + base, Typeflag: tar.TypeReg, Mode: 0o600, ModTime: fi.ModTime().Truncate(time.Second), Format: tar.FormatPAX})
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		hdr.Name = rel
		hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
		hdr.Uname, hdr.Gname = "", ""
		hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
		hdr.Format = tar.FormatPAX
		if fi.IsDir() {
			hdr.Name += "/"
		}
		if fi.Mode().IsRegular() && st.Nlink > 1 {
			id := [2]uint64{st.Dev, st.Ino}
			if first, ok := links[id]; ok {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			} else {
				links[id] = rel
			}
		}
		opaque := false
		if err := addXattrs(p, hdr, &opaque); err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
		}
		if opaque {
			return tw.WriteHeader(&tar.Header{Name: rel + "/" + whiteoutOpaque, Typeflag: tar.TypeReg, Mode: 0o600, ModTime: hdr.ModTime, Format: tar.FormatPAX})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write layer: %w", err)
	}
	return tw.Close()
}

// addXattrs copies p's extended attributes into hdr, all but
// overlayfs's, and reports an opaque directory.
func addXattrs(p string, hdr *tar.Header, opaque *bool) error {
	size, err := unix.Llistxattr(p, nil)
	if err != nil {
		if errors.Is(err, unix.ENOTSUP) {
			return nil
		}
		return fmt.Errorf("list extended attributes: %w", err)
	}
	if size == 0 {
		return nil
	}
	buf := make([]byte, size)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		return fmt.Errorf("list extended attributes: %w", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		if name == "" {
			continue
		}
		if strings.HasPrefix(name, "trusted.overlay.") || strings.HasPrefix(name, "user.overlay.") {
			if name == opaqueXattr {
				v := make([]byte, 8)
				if m, err := unix.Lgetxattr(p, name, v); err == nil && string(v[:m]) == "y" {
					*opaque = true
				}
			}
			continue
		}
		v := make([]byte, 64<<10)
		m, err := unix.Lgetxattr(p, name, v)
		if err != nil {
			continue
		}
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords[paxXattr+name] = string(v[:m])
	}
	return nil
}

// Tar writes upper's layer into a temp file in dir and returns the
// file and the layer's diff ID.
func Tar(upper, dir string) (path, diffID string, err error) {
	return TarSkipping(upper, dir, nil)
}

// TarSkipping is Tar leaving out what skip names (see WriteSkipping).
func TarSkipping(upper, dir string, skip func(rel string) bool) (path, diffID string, err error) {
	f, err := os.CreateTemp(dir, "layer-*.tmp")
	if err != nil {
		return "", "", fmt.Errorf("write layer: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	if err := WriteSkipping(upper, io.MultiWriter(f, h), skip); err != nil {
		return "", "", err
	}
	if err := f.Sync(); err != nil {
		return "", "", fmt.Errorf("sync layer: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", "", fmt.Errorf("write layer: %w", err)
	}
	return f.Name(), "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

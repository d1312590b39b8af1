package main

import (
	"archive/tar"
	"archive/zip"
	"compress/flate"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// platforms are the OS-ARCH names a staged folder may have.
var platforms = []string{"linux-amd64", "linux-arm64", "windows-amd64", "windows-arm64", "darwin-amd64", "darwin-arm64"}

// versionRE is what a version may hold: what git describe prints, and
// nothing that would need quoting in the formula or a file name.
var versionRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+_-]*$`)

func checkVersion(v string) error {
	if !versionRE.MatchString(v) {
		return fmt.Errorf("version %q: want letters, digits and . + _ - (as git describe prints)", v)
	}
	return nil
}

// archiveName is the file an OS-ARCH release is packed in.
func archiveName(version, platform string) string {
	ext := ".tar.gz"
	if strings.HasPrefix(platform, "windows-") {
		ext = ".zip"
	}
	return "skiff-" + version + "-" + platform + ext
}

// entry is one file or folder of a staged release, by its slash path
// inside the archive.
type entry struct {
	name   string
	src    string
	mode   fs.FileMode // fs.ModeDir, fs.ModeSymlink or 0, with 0o755 or 0o644
	link   string
	length int64
}

// stagedEntries lists the staged folder below the archive's top folder,
// sorted, with modes reduced to what a release needs: executable or not.
func stagedEntries(dir, top string) ([]entry, error) {
	entries := []entry{{name: top + "/", mode: fs.ModeDir | 0o755}}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := path.Join(top, filepath.ToSlash(rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch t := info.Mode().Type(); {
		case t == fs.ModeDir:
			entries = append(entries, entry{name: name + "/", mode: fs.ModeDir | 0o755})
		case t == fs.ModeSymlink:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			entries = append(entries, entry{name: name, mode: fs.ModeSymlink | 0o777, link: link})
		case t.IsRegular():
			mode := fs.FileMode(0o644)
			if info.Mode().Perm()&0o111 != 0 {
				mode = 0o755
			}
			entries = append(entries, entry{name: name, src: p, mode: mode, length: info.Size()})
		default:
			return fmt.Errorf("%s: a %s has no place in a release archive", p, t)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	return entries, nil
}

// writeArchive packs the staged folder dir (named OS-ARCH) into out and
// returns the archive's name. It is written beside its final name and
// renamed, so an interrupted run leaves no archive that looks whole.
func writeArchive(out, dir, version string, mtime time.Time) (name string, err error) {
	platform := filepath.Base(filepath.Clean(dir))
	if !slices.Contains(platforms, platform) {
		return "", fmt.Errorf("staged folder %s: its name must be one of %s", dir, strings.Join(platforms, ", "))
	}
	name = archiveName(version, platform)
	top := strings.TrimSuffix(strings.TrimSuffix(name, ".zip"), ".tar.gz")
	entries, err := stagedEntries(dir, top)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(out, ".release-*")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if strings.HasSuffix(name, ".zip") {
		err = writeZip(f, entries, mtime)
	} else {
		err = writeTarGz(f, entries, mtime)
	}
	if err != nil {
		return "", fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Chmod(0o644); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(f.Name(), filepath.Join(out, name)); err != nil {
		return "", err
	}
	return name, nil
}

func writeTarGz(w io.Writer, entries []entry, mtime time.Time) error {
	gz, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		hdr := &tar.Header{
			Name: e.name, Mode: int64(e.mode.Perm()), ModTime: mtime,
			Uname: "root", Gname: "root",
		}
		switch {
		case e.mode.IsDir():
			hdr.Typeflag = tar.TypeDir
		case e.mode&fs.ModeSymlink != 0:
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, e.link
		default:
			hdr.Typeflag, hdr.Size = tar.TypeReg, e.length
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeReg {
			if err := copyFile(tw, e); err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func writeZip(w io.Writer, entries []entry, mtime time.Time) error {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.DefaultCompression)
	})
	for _, e := range entries {
		if e.mode&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s: a zip for windows cannot hold a symlink", e.name)
		}
		hdr := &zip.FileHeader{Name: e.name, Modified: mtime, Method: zip.Deflate}
		hdr.SetMode(e.mode)
		if e.mode.IsDir() {
			hdr.Method = zip.Store
		}
		fw, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		if !e.mode.IsDir() {
			if err := copyFile(fw, e); err != nil {
				return err
			}
		}
	}
	return zw.Close()
}

// copyFile copies e's staged file, which must still have the size it
// was listed with.
func copyFile(w io.Writer, e entry) error {
	f, err := os.Open(e.src)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(w, f)
	if err != nil {
		return fmt.Errorf("%s: %w", e.src, err)
	}
	if n != e.length {
		return fmt.Errorf("%s changed while it was packed", e.src)
	}
	return nil
}

// sumsFile is the checksum list, in the format sha256sum -c reads.
const sumsFile = "SHA256SUMS"

// writeSums writes SHA256SUMS for every release archive in out.
func writeSums(out string) error {
	des, err := os.ReadDir(out)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, de := range des {
		n := de.Name()
		if !de.Type().IsRegular() || !strings.HasPrefix(n, "skiff-") || !(strings.HasSuffix(n, ".tar.gz") || strings.HasSuffix(n, ".zip")) {
			continue
		}
		sum, err := fileSum(filepath.Join(out, n))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, n)
	}
	return writeFileAtomic(filepath.Join(out, sumsFile), []byte(b.String()))
}

func fileSum(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeFileAtomic writes data to a temp file beside name, syncs it and
// renames it into place.
func writeFileAtomic(name string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(name), ".release-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}

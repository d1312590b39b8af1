// Command mkbusybox writes skiff's bundled image, localhost/busybox:latest,
// as a docker-save archive that skiff, docker and podman can load:
//
//	go run ./scripts/mkbusybox -busybox build/busybox/busybox-amd64 -arch amd64 -o build/images/busybox-amd64.tar
//
// The image has one layer: the static busybox binary given, a symlink
// in /bin for each applet the binary has, as in docker's busybox image
// (the binary may be for another architecture, so its list is read from
// its applet table rather than asked of busybox --list), a passwd and
// group file, and the empty directories a container expects.
// The output depends on nothing but the inputs: every timestamp is
// SOURCE_DATE_EPOCH, or 2024-01-01 when that is unset, entries are
// sorted and owned by root.
package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

const (
	passwd = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/sh
`
	group = `root:x:0:
daemon:x:1:
users:x:100:
user:x:1000:
nobody:x:65534:
`
	defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// machines maps the -arch values to the ELF machine of their binaries.
var machines = map[string]elf.Machine{
	"amd64": elf.EM_X86_64,
	"arm64": elf.EM_AARCH64,
	"arm":   elf.EM_ARM,
}

func main() {
	bin := flag.String("busybox", "", "path of a static busybox binary for -arch")
	arch := flag.String("arch", "", "image architecture: amd64, arm64 or arm (v7)")
	out := flag.String("o", "", "path of the docker-save archive to write")
	tag := flag.String("tag", "localhost/busybox:latest", "name of the image")
	flag.Parse()
	if *bin == "" || *arch == "" || *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*bin, *arch, *out, *tag); err != nil {
		fmt.Fprintln(os.Stderr, "mkbusybox:", err)
		os.Exit(1)
	}
}

func run(bin, arch, out, tag string) error {
	epoch, err := sourceDate()
	if err != nil {
		return err
	}
	busybox, applets, err := readBusybox(bin, arch)
	if err != nil {
		return err
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		return fmt.Errorf("image name %q: %w", tag, err)
	}
	img, err := buildImage(busybox, applets, arch, epoch)
	if err != nil {
		return err
	}
	if err := writeArchive(out, ref, img); err != nil {
		return err
	}
	id, err := img.ConfigName()
	if err != nil {
		return err
	}
	fmt.Printf("%s: %s %s, %d applets\n", out, tag, id, len(applets))
	return nil
}

// sourceDate is the one timestamp in the image: SOURCE_DATE_EPOCH, as
// reproducible builds define it, or a fixed date.
func sourceDate() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), nil
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds", s)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// readBusybox reads the binary and its applet names and checks that it
// is a static ELF for arch, so that a swapped argument fails here and
// not in a container.
func readBusybox(path, arch string) (data []byte, applets []string, err error) {
	want, ok := machines[arch]
	if !ok {
		return nil, nil, fmt.Errorf("-arch %q: want amd64, arm64 or arm", arch)
	}
	data, err = os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, nil, fmt.Errorf("%s is not an ELF binary: %w", path, err)
	}
	defer f.Close()
	if f.Machine != want {
		return nil, nil, fmt.Errorf("%s is a %s binary, not %s", path, f.Machine, arch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return nil, nil, fmt.Errorf("%s is dynamically linked; the image has no libraries (use busybox-static)", path)
		}
	}
	applets, err = appletNames(f, data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, applets, nil
}

// layerTar returns the image's one layer, entries sorted by name.
func layerTar(busybox []byte, applets []string, epoch time.Time) ([]byte, error) {
	type entry struct {
		hdr  tar.Header
		body []byte
	}
	dir := func(name string, mode int64, uid int) entry {
		return entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: uid, Gid: uid}}
	}
	file := func(name string, mode int64, body []byte) entry {
		return entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body))}, body: body}
	}
	entries := []entry{
		dir("bin", 0o755, 0), file("bin/busybox", 0o755, busybox),
		dir("dev", 0o755, 0), dir("etc", 0o755, 0),
		file("etc/group", 0o644, []byte(group)), file("etc/passwd", 0o644, []byte(passwd)),
		dir("home", 0o755, 0), dir("home/user", 0o755, 1000),
		dir("proc", 0o555, 0), dir("root", 0o700, 0), dir("sys", 0o555, 0),
		dir("tmp", 0o1777, 0), dir("usr", 0o755, 0), dir("usr/bin", 0o755, 0), dir("usr/sbin", 0o755, 0),
		dir("var", 0o755, 0),
	}
	for _, a := range applets {
		if a == "busybox" {
			continue
		}
		entries = append(entries, entry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777}})
	}
	slices.SortFunc(entries, func(a, b entry) int {
		switch {
		case a.hdr.Name < b.hdr.Name:
			return -1
		case a.hdr.Name > b.hdr.Name:
			return 1
		}
		return 0
	})

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := e.hdr
		hdr.ModTime = epoch
		hdr.Format = tar.FormatUSTAR
		if hdr.Uid == 0 {
			hdr.Uname, hdr.Gname = "root", "root"
		}
		if err := tw.WriteHeader(&hdr); err != nil {
			return nil, fmt.Errorf("write layer entry %s: %w", hdr.Name, err)
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, fmt.Errorf("write layer entry %s: %w", hdr.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func buildImage(busybox []byte, applets []string, arch string, epoch time.Time) (v1.Image, error) {
	data, err := layerTar(busybox, applets, epoch)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("build layer: %w", err)
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "scripts/mkbusybox", Comment: "busybox and its applets"},
	})
	if err != nil {
		return nil, fmt.Errorf("build image: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("build image: %w", err)
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS, cf.Created = arch, "linux", v1.Time{Time: epoch}
	switch arch {
	case "arm64":
		cf.Variant = "v8"
	case "arm":
		// Debian's armhf: ARMv7 with hardware floating point.
		cf.Variant = "v7"
	}
	cf.Config = v1.Config{Cmd: []string{"sh"}, Env: []string{defaultPath}}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("build image: %w", err)
	}
	return img, nil
}

// writeArchive writes the archive beside out and renames it into place,
// so an interrupted build leaves no archive that looks complete.
func writeArchive(out string, ref name.Tag, img v1.Image) (err error) {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(out), ".mkbusybox-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := tarball.Write(ref, img, f); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), out); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return nil
}

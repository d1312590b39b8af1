package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/skiffrun/skiff/vmimage/kernel"
)

// sourcePackage is Debian's kernel source package skiff's kernel is built
// from: the same upstream as Debian's own 6.1 kernels, with their security
// updates.
const sourcePackage = "linux-source-6.1"

// kbuildRecipe changes whenever the way the kernel is built changes in a
// way the cache key would not see (the make targets, the environment).
const kbuildRecipe = "3"

// kernelArch is how the kernel's build names an architecture, and what it
// builds for it.
type kernelArch struct {
	arch, cross string
	// target is the make target; image is the file it produces, relative
	// to the object directory.
	target, image string
}

var kernelArches = map[string]kernelArch{
	"amd64": {arch: "x86_64", target: "bzImage", image: "arch/x86/boot/bzImage"},
	"arm64": {arch: "arm64", cross: "aarch64-linux-gnu-", target: "Image", image: "arch/arm64/boot/Image"},
}

// builtKernel is a kernel built (or found in the cache) for one
// architecture.
type builtKernel struct {
	// image is the make target's output: the bzImage or the Image.
	image []byte
	// release is the kernel's release string (uname -r).
	release string
	// source is the source package and version it was built from.
	source string
	// config is the final .config.
	config []byte
}

// kernelPaths are where the kernel's inputs and outputs are kept.
type kernelPaths struct {
	// debs is where the source package is downloaded to; dir holds the
	// unpacked source, the object trees and the built kernels.
	debs, dir string
}

// buildKernel builds skiff's kernel for arch from Debian's source package
// and the configuration fragment in vmimage/kernel, or returns the one
// already built from the same inputs. The cache key is the source
// package's version, the fragment, the compiler's version and the
// recipe, so a second make vmimage does not build it again.
func buildKernel(ctx context.Context, arch string, p kernelPaths) (*builtKernel, error) {
	ka := kernelArches[arch]
	// make runs in the source tree: every path it is given is absolute.
	dir, err := filepath.Abs(p.dir)
	if err != nil {
		return nil, err
	}
	p.dir = dir
	fragment, err := kernel.Fragment(arch)
	if err != nil {
		return nil, err
	}
	version, err := candidateVersion(ctx, sourcePackage, "all")
	if err != nil {
		return nil, err
	}
	cc, err := compilerVersion(ctx, ka.cross+"gcc")
	if err != nil {
		return nil, err
	}
	sum := sha256.New()
	for _, s := range []string{kbuildRecipe, sourcePackage, version, cc, string(fragment)} {
		fmt.Fprintf(sum, "%d:%s\n", len(s), s)
	}
	key := hex.EncodeToString(sum.Sum(nil))[:16]
	out := filepath.Join(p.dir, arch+"-"+key)
	if k, err := readBuiltKernel(out); err == nil {
		return k, nil
	}

	debs, err := download(ctx, p.debs, "all", []string{sourcePackage})
	if err != nil {
		return nil, err
	}
	src, stamp, err := unpackSource(ctx, debs[0], filepath.Join(p.dir, "src-"+version))
	if err != nil {
		return nil, err
	}
	obj := filepath.Join(p.dir, "obj-"+arch+"-"+version)
	if err := os.MkdirAll(obj, 0o755); err != nil {
		return nil, err
	}
	fragFile := filepath.Join(obj, "skiff.config")
	if err := os.WriteFile(fragFile, fragment, 0o644); err != nil {
		return nil, err
	}
	mk := func(args ...string) error {
		return kmake(ctx, src, obj, ka, stamp, args...)
	}
	// allnoconfig with the fragment preset, then olddefconfig: what the
	// fragment asks for and what it needs, nothing else.
	if err := mk("KCONFIG_ALLCONFIG="+fragFile, "allnoconfig"); err != nil {
		return nil, err
	}
	if err := mk("olddefconfig"); err != nil {
		return nil, err
	}
	config, err := os.ReadFile(filepath.Join(obj, ".config"))
	if err != nil {
		return nil, err
	}
	if err := checkConfig(fragment, config); err != nil {
		return nil, fmt.Errorf("kernel configuration: %w", err)
	}
	fmt.Fprintf(os.Stderr, "vmimage: building the %s kernel from %s %s (several minutes the first time)\n", arch, sourcePackage, version)
	start := time.Now()
	if err := mk(ka.target); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "vmimage: %s kernel built in %v\n", arch, time.Since(start).Round(time.Second))
	image, err := os.ReadFile(filepath.Join(obj, ka.image))
	if err != nil {
		return nil, err
	}
	release, err := os.ReadFile(filepath.Join(obj, "include", "config", "kernel.release"))
	if err != nil {
		return nil, err
	}
	k := &builtKernel{image: image, release: strings.TrimSpace(string(release)), source: sourcePackage + " " + version, config: config}
	if err := writeBuiltKernel(out, k); err != nil {
		return nil, err
	}
	return k, nil
}

// checkConfig fails when config lacks any setting of fragment.
func checkConfig(fragment, config []byte) error {
	want, err := kernel.ParseConfig(fragment)
	if err != nil {
		return err
	}
	have, err := kernel.ParseConfig(config)
	if err != nil {
		return err
	}
	if miss := kernel.Missing(want, have); len(miss) > 0 {
		return fmt.Errorf("olddefconfig dropped what the fragment asks for (a dependency is off or the symbol is gone): %s", strings.Join(miss, ", "))
	}
	return nil
}

// kmake runs the kernel's make in src with its objects in obj, niced and
// on at most two jobs (the build shares its machine), with the
// timestamp, user and host that go into the kernel fixed so that the
// same inputs give the same bytes.
func kmake(ctx context.Context, src, obj string, ka kernelArch, stamp time.Time, args ...string) error {
	jobs := min(runtime.NumCPU(), 2)
	full := []string{"-n", "15", "make", "-s", fmt.Sprintf("-j%d", jobs), "O=" + obj, "ARCH=" + ka.arch}
	if ka.cross != "" {
		full = append(full, "CROSS_COMPILE="+ka.cross)
	}
	cmd := exec.CommandContext(ctx, "nice", append(full, args...)...)
	cmd.Dir = src
	cmd.Env = append(os.Environ(),
		"KBUILD_BUILD_TIMESTAMP="+stamp.UTC().Format(time.UnixDate),
		"KBUILD_BUILD_USER=skiff", "KBUILD_BUILD_HOST=skiff", "KBUILD_BUILD_VERSION=1",
		"LC_ALL=C", "TZ=UTC")
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		tail := output.Bytes()
		if len(tail) > 4000 {
			tail = tail[len(tail)-4000:]
		}
		return fmt.Errorf("make %s: %w (the kernel build needs bc, bison, flex, libelf-dev: scripts/install-deps): %s", strings.Join(args, " "), err, bytes.TrimSpace(tail))
	}
	return nil
}

// unpackSource unpacks the source package's tarball into dir once, and
// returns the tree and the tarball's time, which becomes the kernel's
// build timestamp.
func unpackSource(ctx context.Context, d deb, dir string) (string, time.Time, error) {
	tree := filepath.Join(dir, sourcePackage)
	done := filepath.Join(dir, ".unpacked")
	if b, err := os.ReadFile(done); err == nil {
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(string(b)))
		return tree, t, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", time.Time{}, err
	}
	pkg := filepath.Join(dir, "pkg")
	if err := extractDeb(ctx, d.file, pkg); err != nil {
		return "", time.Time{}, err
	}
	tarball := filepath.Join(pkg, "usr", "src", sourcePackage+".tar.xz")
	st, err := os.Stat(tarball)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("source package %s: %w", d.name, err)
	}
	if _, err := command(ctx, dir, "tar", "-xJf", tarball); err != nil {
		return "", time.Time{}, err
	}
	if err := os.RemoveAll(pkg); err != nil {
		return "", time.Time{}, err
	}
	if _, err := os.Stat(filepath.Join(tree, "Makefile")); err != nil {
		return "", time.Time{}, fmt.Errorf("source package %s unpacked no %s/Makefile", d.name, sourcePackage)
	}
	stamp := st.ModTime().UTC().Truncate(time.Second)
	return tree, stamp, os.WriteFile(done, []byte(stamp.Format(time.RFC3339)+"\n"), 0o644)
}

// compilerVersion is the first line of cc --version, part of the cache
// key: another compiler gives other bytes.
func compilerVersion(ctx context.Context, cc string) (string, error) {
	out, err := command(ctx, "", cc, "--version")
	if err != nil {
		return "", fmt.Errorf("%w (the kernel build needs %s: scripts/install-deps)", err, cc)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line), nil
}

// The files of a built kernel in its cache directory.
const (
	builtImage   = "image"
	builtRelease = "release"
	builtSource  = "source"
	builtConfig  = "config"
)

func readBuiltKernel(dir string) (*builtKernel, error) {
	var k builtKernel
	for _, f := range []struct {
		name string
		dst  *[]byte
	}{{builtImage, &k.image}, {builtConfig, &k.config}} {
		b, err := os.ReadFile(filepath.Join(dir, f.name))
		if err != nil {
			return nil, err
		}
		*f.dst = b
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{builtRelease, &k.release}, {builtSource, &k.source}} {
		b, err := os.ReadFile(filepath.Join(dir, f.name))
		if err != nil {
			return nil, err
		}
		*f.dst = strings.TrimSpace(string(b))
	}
	if len(k.image) == 0 || k.release == "" {
		return nil, errors.New("incomplete built kernel")
	}
	return &k, nil
}

// writeBuiltKernel fills a fresh directory and renames it to dir, so a
// reader finds a whole kernel or none.
func writeBuiltKernel(dir string, k *builtKernel) error {
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		builtImage: k.image, builtConfig: k.config,
		builtRelease: []byte(k.release + "\n"), builtSource: []byte(k.source + "\n"),
	} {
		if err := os.WriteFile(filepath.Join(tmp, name), data, 0o644); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

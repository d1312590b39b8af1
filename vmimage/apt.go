package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// deb is a downloaded package file.
type deb struct {
	name, version, file string
}

// candidateVersion asks apt which version of pkg it would download.
func candidateVersion(ctx context.Context, pkg, arch string) (string, error) {
	out, err := command(ctx, "", "apt-cache", "show", "--no-all-versions", pkg+":"+arch)
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Version: "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("apt-cache show %s:%s gives no version", pkg, arch)
}

// debFileName is the name apt-get download gives a package file.
func debFileName(pkg, version, arch string) string {
	return pkg + "_" + strings.ReplaceAll(version, ":", "%3a") + "_" + arch + ".deb"
}

// download fetches the candidate version of each package for arch into
// cache, reusing files already there.
func download(ctx context.Context, cache, arch string, pkgs []string) ([]deb, error) {
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, err
	}
	// As root, apt downloads as its unprivileged _apt user, which must be
	// able to write the directory.
	if os.Geteuid() == 0 {
		if u, err := user.Lookup("_apt"); err == nil {
			uid, _ := strconv.Atoi(u.Uid)
			_ = os.Chown(cache, uid, -1)
		}
	}
	debs := make([]deb, 0, len(pkgs))
	var missing []string
	for _, p := range pkgs {
		v, err := candidateVersion(ctx, p, arch)
		if err != nil {
			return nil, err
		}
		d := deb{name: p, version: v, file: filepath.Join(cache, debFileName(p, v, arch))}
		if _, err := os.Stat(d.file); errors.Is(err, os.ErrNotExist) {
			missing = append(missing, p+":"+arch+"="+v)
		}
		debs = append(debs, d)
	}
	if len(missing) > 0 {
		args := append([]string{"download", "-q"}, missing...)
		if _, err := command(ctx, cache, "apt-get", args...); err != nil {
			return nil, fmt.Errorf("%w (for arm64: dpkg --add-architecture arm64 && apt-get update)", err)
		}
	}
	for _, d := range debs {
		if _, err := os.Stat(d.file); err != nil {
			return nil, fmt.Errorf("apt-get download %s: %w", d.name, err)
		}
	}
	return debs, nil
}

// extractDeb unpacks a package's files into dir.
func extractDeb(ctx context.Context, file, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	_, err := command(ctx, "", "dpkg-deb", "-x", file, dir)
	return err
}

// command runs name in dir and returns its standard output; a failure
// carries its standard error.
func command(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

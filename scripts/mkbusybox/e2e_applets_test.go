//go:build e2e

package main

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// qemuUser names the user-mode emulator that runs a binary of each
// architecture on another (Debian's qemu-user-static).
var qemuUser = map[string]string{"amd64": "qemu-x86_64-static", "arm64": "qemu-aarch64-static"}

// TestAppletsOfTheBinary builds the image from each architecture's
// busybox (scripts/fetch-busybox) and checks that it links exactly the
// applets that binary lists when run (under qemu-user for the foreign
// one), the ones a docker busybox user reaches for among them.
func TestAppletsOfTheBinary(t *testing.T) {
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			bin, err := filepath.Abs(filepath.Join("..", "..", "build", "busybox", "busybox-"+arch))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(bin); err != nil {
				t.Fatalf("%v: fetch the binaries with scripts/fetch-busybox", err)
			}
			cmd := exec.Command(bin, "--list")
			if arch != runtime.GOARCH {
				q, err := exec.LookPath(qemuUser[arch])
				if err != nil {
					t.Fatalf("%v: install qemu-user-static (scripts/install-deps) to run the %s busybox", err, arch)
				}
				cmd = exec.Command(q, bin, "--list")
			}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s --list: %v", bin, err)
			}
			listed := strings.Fields(string(out))

			archive := filepath.Join(t.TempDir(), "busybox.tar")
			if err := run(bin, arch, archive, "localhost/busybox:latest"); err != nil {
				t.Fatal(err)
			}
			linked := binLinks(t, archive)
			slices.Sort(listed)
			if !slices.Equal(linked, listed) {
				t.Errorf("the image links %d applets, busybox --list has %d:\n  only linked: %q\n  only listed: %q",
					len(linked), len(listed), minus(linked, listed), minus(listed, linked))
			}
			for _, a := range []string{"httpd", "vi", "nslookup", "wget", "sh"} {
				if !slices.Contains(linked, a) {
					t.Errorf("no /bin/%s", a)
				}
			}
		})
	}
}

// binLinks returns the names in the image's /bin that run busybox, sorted:
// the binary itself (which Debian's lists as an applet too) and the
// symlinks to it.
func binLinks(t *testing.T, archive string) []string {
	t.Helper()
	img, err := tarball.ImageFromPath(archive, nil)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers %d, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var names []string
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if dir, name := filepath.Split(hdr.Name); dir == "bin/" && (hdr.Typeflag == tar.TypeSymlink && hdr.Linkname == "busybox" || name == "busybox") {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

func minus(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

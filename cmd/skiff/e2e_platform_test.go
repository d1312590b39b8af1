//go:build e2e

package main_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The other architecture's image runs under the machine's emulator
// (qemu-user through binfmt_misc): arm64 on an amd64 host, amd64 on an
// arm64 one.

// foreign is the bundled image's architecture that this host does not
// run natively, with what uname -m says in it and its ELF e_machine.
func foreign() (arch, uname string, machine byte) {
	if runtime.GOARCH == "arm64" {
		return "amd64", "x86_64", 62
	}
	return "arm64", "aarch64", 183
}

// bundledImage is the path of the bundled busybox archive for arch
// (make images builds both).
func bundledImage(t *testing.T, arch string) string {
	t.Helper()
	p := filepath.Join(binDir, "..", "build", "images", "busybox-"+arch+".tar")
	if _, err := os.Stat(p); err != nil {
		unmet(t, "the bundled %s image %s is missing (make images): %v", arch, p, err)
	}
	return p
}

// loadForeign loads the bundled foreign busybox archive as tag, and
// gives busybox back to the machine's own image.
func loadForeign(t *testing.T, tag string) {
	t.Helper()
	arch, _, _ := foreign()
	must(t, "load", "-i", bundledImage(t, arch))
	must(t, "tag", busybox, tag)
	must(t, "load", "-i", bundledImage(t, runtime.GOARCH))
	t.Cleanup(func() { skiff(t, "rmi", tag) })
}

const countLoop = `i=0; while [ $i -lt 1000 ]; do i=$((i+1)); done; echo $i`

func TestPlatformBundledForeign(t *testing.T) {
	arch, uname, _ := foreign()
	tag := "localhost/busybox-" + arch + ":e2e"
	loadForeign(t, tag)
	if got := must(t, "image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", tag); got != "linux/"+arch {
		t.Errorf("image inspect: platform %q, want linux/%s", got, arch)
	}

	// Without --platform: it runs, with docker's warning.
	r := skiff(t, "run", "--rm", tag, "uname", "-m")
	if r.code != 0 || strings.TrimSpace(r.stdout) != uname {
		t.Fatalf("uname -m in the %s image: %v; want %s", arch, r, uname)
	}
	warning := fmt.Sprintf("WARNING: The requested image's platform (linux/%s) does not match the detected host platform (linux/%s", arch, runtime.GOARCH)
	if !strings.Contains(r.stderr, warning) || !strings.Contains(r.stderr, "and no specific platform was requested") {
		t.Errorf("stderr %q lacks docker's warning %q", r.stderr, warning)
	}

	// With it: no warning, and a shell loop runs under the emulator.
	r = skiff(t, "run", "--rm", "--platform", "linux/"+arch, tag, "sh", "-c", countLoop)
	if r.code != 0 || strings.TrimSpace(r.stdout) != "1000" || strings.Contains(r.stderr, "WARNING") {
		t.Fatalf("shell loop in the %s image with --platform: %v", arch, r)
	}
	// skiff machine inspect says how the machine runs each.
	emus := must(t, "machine", "inspect", "--format", "{{range .Emulators}}{{.Arch}}={{.Kind}} {{end}}")
	if !strings.HasPrefix(emus, runtime.GOARCH+"=native") || !strings.Contains(emus, arch+"=qemu") {
		t.Errorf("machine inspect: emulators %q, want %s=native first and %s=qemu", emus, runtime.GOARCH, arch)
	}
	// The machine's own image shows no warning either.
	if r := skiff(t, "run", "--rm", busybox, "true"); r.code != 0 || strings.Contains(r.stderr, "WARNING") {
		t.Errorf("the machine's own image: %v", r)
	}
}

// pushBundled pushes the bundled images for arches to reg/busybox:<arch>
// and an index of them all to reg/busybox:<indexTag>.
func pushBundled(t *testing.T, reg, indexTag string, arches ...string) string {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.DockerManifestList)
	for _, arch := range arches {
		img, err := tarball.ImageFromPath(bundledImage(t, arch), nil)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := name.ParseReference(reg+"/busybox:"+arch, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatalf("push %s: %v", ref, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			MediaType: types.DockerManifestSchema2,
			Platform:  &v1.Platform{OS: "linux", Architecture: arch},
		}})
	}
	ref, err := name.ParseReference(reg+"/busybox:"+indexTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatalf("push index %s: %v", ref, err)
	}
	return ref.String()
}

// platformRegistry runs a registry the machine reaches (on this host's
// own address, which skiff is told to trust over plain HTTP) and returns
// its host:port.
func platformRegistry(t *testing.T) string {
	t.Helper()
	dockerConfig(t)
	_, port, err := net.SplitHostPort(startRegistryOn(t, "0.0.0.0", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	reg := net.JoinHostPort(hostIPv4(t), port)
	settings := filepath.Join(skiffHome, "config.json")
	if err := os.WriteFile(settings, fmt.Appendf(nil, `{"insecure-registries": [%q]}`, reg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(settings) })
	return reg
}

func TestPlatformPullFromIndex(t *testing.T) {
	arch, uname, _ := foreign()
	reg := platformRegistry(t)
	multi := pushBundled(t, reg, "multi", runtime.GOARCH, arch)
	t.Cleanup(func() { skiff(t, "rmi", multi) })

	// --platform picks the foreign image out of the index; the tag names
	// it alone, as docker's classic store does.
	must(t, "pull", "--platform", "linux/"+arch, multi)
	if got := must(t, "image", "inspect", "--format", "{{.Architecture}}", multi); got != arch {
		t.Errorf("pulled with --platform linux/%s: architecture %q", arch, got)
	}
	r := skiff(t, "run", "--rm", "--platform", "linux/"+arch, multi, "sh", "-c", "uname -m; "+countLoop)
	if r.code != 0 || r.stdout != uname+"\n1000\n" {
		t.Fatalf("run the pulled %s image: %v", arch, r)
	}
	// Without --platform the machine's own is pulled, and the tag moves.
	must(t, "pull", multi)
	if got := must(t, "image", "inspect", "--format", "{{.Architecture}}", multi); got != runtime.GOARCH {
		t.Errorf("pulled without --platform: architecture %q, want %s", got, runtime.GOARCH)
	}
	// run --platform with the other platform's image under the tag pulls
	// the one asked for.
	r = skiff(t, "run", "--rm", "--platform", "linux/"+arch, multi, "uname", "-m")
	if r.code != 0 || strings.TrimSpace(r.stdout) != uname {
		t.Fatalf("run --platform linux/%s over the local %s image: %v", arch, runtime.GOARCH, r)
	}

	// A platform the index lacks: the error lists those it has.
	r = skiff(t, "pull", "--platform", "linux/s390x", multi)
	if r.code == 0 || !strings.Contains(r.stderr, "linux/"+runtime.GOARCH+", linux/"+arch) {
		t.Errorf("pull of a platform the index lacks: %v; want the platforms it provides", r)
	}

	// An index of the foreign image alone: no fallback to emulation
	// unless asked for.
	only := pushBundled(t, reg, "only-"+arch, arch)
	t.Cleanup(func() { skiff(t, "rmi", only) })
	r = skiff(t, "run", "--rm", only, "true")
	if r.code == 0 || !strings.Contains(r.stderr, "linux/"+arch) || !strings.Contains(r.stderr, "--platform") {
		t.Errorf("run of an index with no %s image: %v; want an error naming linux/%s and --platform", runtime.GOARCH, r, arch)
	}
	r = skiff(t, "run", "--rm", "--platform", "linux/"+arch, only, "uname", "-m")
	if r.code != 0 || strings.TrimSpace(r.stdout) != uname {
		t.Errorf("run --platform linux/%s of the %s-only index: %v", arch, arch, r)
	}
}

func TestPlatformBuild(t *testing.T) {
	arch, uname, machine := foreign()
	base := "localhost/busybox-" + arch + ":e2e-base"
	loadForeign(t, base)
	dir := buildContext(t, map[string]string{"Dockerfile": "FROM " + base + "\nRUN uname -m > /arch && cp /bin/busybox /copied\n"})
	tag := "localhost/platform-build:e2e"
	buildOK(t, "--platform", "linux/"+arch, "-t", tag, dir)
	t.Cleanup(func() { skiff(t, "rmi", tag) })
	if got := must(t, "image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", tag); got != "linux/"+arch {
		t.Errorf("built image's platform %q, want linux/%s", got, arch)
	}
	// The RUN step ran under the emulator, and the file it made is a
	// program of the image's architecture (ELF e_machine, bytes 18-19).
	out := must(t, "run", "--rm", "--platform", "linux/"+arch, tag, "sh", "-c", "cat /arch; od -An -tu1 -j18 -N1 /copied")
	if want := fmt.Sprintf("%s\n%d", uname, machine); strings.Join(strings.Fields(out), "\n") != want {
		t.Errorf("built image: %q, want %q", out, want)
	}
}

func TestBadInputPlatform(t *testing.T) {
	for _, p := range []string{"linux/foo", "windows/amd64", "linux/amd64/v9", "linux//"} {
		for _, args := range [][]string{
			{"run", "--rm", "--platform", p, busybox, "true"},
			{"create", "--platform", p, busybox},
			{"pull", "--platform", p, busybox},
			{"build", "--platform", p, t.TempDir()},
		} {
			r := skiff(t, args...)
			if r.code != 125 || !strings.Contains(r.stderr, "linux/arm64") || !strings.Contains(r.stderr, "linux/arm/v7") {
				t.Errorf("skiff %s: %v; want 125 and the accepted forms", strings.Join(args, " "), r)
			}
		}
	}
}

// TestPlatformArmV7 runs Debian's armhf busybox (make images), a 32-bit
// arm/v7 image, under the machine's qemu-arm.
func TestPlatformArmV7(t *testing.T) {
	tag := "localhost/busybox-arm:e2e"
	must(t, "load", "-i", bundledImage(t, "arm"))
	must(t, "tag", busybox, tag)
	must(t, "load", "-i", bundledImage(t, runtime.GOARCH))
	t.Cleanup(func() { skiff(t, "rmi", tag) })
	if got := must(t, "image", "inspect", "--format", "{{.Architecture}}/{{.Variant}}", tag); got != "arm/v7" {
		t.Errorf("image inspect: %q, want arm/v7", got)
	}
	r := skiff(t, "run", "--rm", "--platform", "linux/arm/v7", tag, "sh", "-c", "uname -m; "+countLoop)
	if r.code != 0 || r.stdout != "armv7l\n1000\n" {
		t.Fatalf("run the arm/v7 image: %v", r)
	}
	// arm/v7 is not arm/v6: asking for the older CPU finds no image.
	if r := skiff(t, "run", "--rm", "--pull", "never", "--platform", "linux/arm/v6", tag, "true"); r.code == 0 {
		t.Errorf("run --platform linux/arm/v6 of the arm/v7 image: %v", r)
	}
}

// TestPlatformDockerAPI runs the foreign image and pulls from an index
// through the Docker API's platform parameters, with docker's own CLIs.
func TestPlatformDockerAPI(t *testing.T) {
	arch, uname, _ := foreign()
	tag := "localhost/busybox-" + arch + ":e2e-api"
	loadForeign(t, tag)
	reg := platformRegistry(t)
	multi := pushBundled(t, reg, "api", runtime.GOARCH, arch)
	for _, c := range dockerCLIs(t) {
		t.Run(c.name, func(t *testing.T) {
			r := c.run(t, "", "run", "--rm", "--platform", "linux/"+arch, tag, "uname", "-m")
			if r.code != 0 || strings.TrimSpace(r.stdout) != uname {
				t.Fatalf("docker run --platform linux/%s: %v", arch, r)
			}
			r = c.run(t, "", "pull", "--platform", "linux/"+arch, multi)
			if r.code != 0 {
				t.Fatalf("docker pull --platform linux/%s: %v", arch, r)
			}
			if r := c.run(t, "", "image", "inspect", "--format", "{{.Architecture}}", multi); strings.TrimSpace(r.stdout) != arch {
				t.Errorf("docker image inspect after the pull: %v", r)
			}
			c.run(t, "", "rmi", multi)
		})
	}
}

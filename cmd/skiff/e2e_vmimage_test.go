//go:build e2e

package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/skiffrun/skiff/host/vmimage"
)

// TestMachineImagePull pushes the guest image make vmimage built to a
// local registry and starts QEMU machines from a skiff with no guest
// image beside it: the first start pulls, verifies and boots it and a
// container runs; the second pulls nothing; upgrade moves a running
// machine to another image, keeping its data disk; a blob altered in the
// registry is refused, naming its digest, with nothing left in the
// cache; an unreachable registry, or nothing to pull, is one line saying
// what to do.
func TestMachineImagePull(t *testing.T) {
	qemu := "qemu-system-x86_64"
	if runtime.GOARCH == "arm64" {
		qemu = "qemu-system-aarch64"
	}
	if _, err := exec.LookPath(qemu); err != nil {
		unmet(t, "%s is not installed", qemu)
	}
	src := filepath.Join(binDir, "vmimage", runtime.GOARCH)
	if _, err := os.Stat(filepath.Join(src, "manifest.json")); err != nil {
		unmet(t, "no guest image next to skiff to push (make vmimage && make build)")
	}
	reg, data := runRegistry(t, "127.0.0.1", "", "")
	ctx := context.Background()
	ref := reg + "/skiff/vmimage:e2e"
	digest, err := vmimage.Push(ctx, ref, []string{src}, vmimage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A second image: the same files under another manifest.json.
	other := filepath.Join(t.TempDir(), runtime.GOARCH)
	copyDir(t, src, other)
	rewriteKernelVersion(t, filepath.Join(other, "manifest.json"))
	ref2 := reg + "/skiff/vmimage:e2e-next"
	digest2, err := vmimage.Push(ctx, ref2, []string{other}, vmimage.Options{})
	if err != nil || digest2 == digest {
		t.Fatalf("push the second image: %s, %v", digest2, err)
	}

	// skiff alone in a folder: no guest image beside it.
	bin := filepath.Join(t.TempDir(), "skiff")
	copyFile(t, filepath.Join(binDir, "skiff"), bin)
	base := []string{"SKIFF_DRIVER=qemu"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SKIFF_") {
			base = append(base, kv)
		}
	}
	home := t.TempDir()
	vmEnv := append(base[:len(base):len(base)], "SKIFF_HOME="+home, "SKIFF_VMIMAGE_REF="+ref)
	vm := func(args ...string) result {
		t.Helper()
		return runBin(t, bin, vmEnv, 5*time.Minute, args...)
	}
	t.Cleanup(func() {
		vm("machine", "stop")
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(home, "machines", "default", "console.log")); err == nil {
				t.Logf("console:\n%s", lastLines(string(b), 30))
			}
		}
	})

	r := vm("machine", "start", "--memory", "1g")
	if r.code != 0 || !strings.Contains(r.stderr, "Pulling guest image "+ref) || !strings.Contains(r.stderr, "Digest: "+digest) || !strings.Contains(r.stderr, "ready in") {
		t.Fatalf("first machine start: %s", r)
	}
	if r := vm("run", "--rm", busybox, "echo", "hi from the pulled image"); r.code != 0 || r.stdout != "hi from the pulled image\n" {
		t.Fatalf("run: %s", r)
	}
	if r := vm("machine", "inspect", "--format", "{{.Image.Digest}}"); strings.TrimSpace(r.stdout) != digest {
		t.Errorf("inspect shows image %q; want %s", r.stdout, digest)
	}
	cached := filepath.Join(home, "vmimage", "sha256-"+strings.TrimPrefix(digest, "sha256:"), runtime.GOARCH)
	if _, err := os.Stat(filepath.Join(cached, "manifest.json")); err != nil {
		t.Errorf("the image is not cached at %s: %v", cached, err)
	}
	if r := vm("machine", "stop"); r.code != 0 {
		t.Fatalf("machine stop: %s", r)
	}
	r = vm("machine", "start", "--memory", "1g")
	if r.code != 0 || strings.Contains(r.stderr, "Pulling") {
		t.Fatalf("second machine start pulled again, or failed: %s", r)
	}

	// Upgrade the running machine; its data disk stays.
	if r := vm("tag", busybox, "localhost/kept:before-upgrade"); r.code != 0 {
		t.Fatalf("tag: %s", r)
	}
	r = vm("machine", "upgrade", "-f", "--image", ref2)
	if r.code != 0 || !strings.Contains(r.stdout, "now boots guest image "+reg+"/skiff/vmimage@"+digest2) {
		t.Fatalf("machine upgrade: %s", r)
	}
	if r := vm("machine", "inspect", "--format", "{{.Image.Digest}}"); strings.TrimSpace(r.stdout) != digest2 {
		t.Errorf("after upgrade inspect shows %q; want %s", r.stdout, digest2)
	}
	if r := vm("run", "--rm", "localhost/kept:before-upgrade", "true"); r.code != 0 {
		t.Errorf("the data disk did not survive the upgrade: %s", r)
	}
	// A skiff that pins another image: the next start boots it, cached.
	vm("machine", "stop")
	r = vm("machine", "start", "--memory", "1g")
	if r.code != 0 || strings.Contains(r.stderr, "Pulling") {
		t.Fatalf("start back on the first image: %s", r)
	}
	if r := vm("machine", "inspect", "--format", "{{.Image.Digest}}"); strings.TrimSpace(r.stdout) != digest {
		t.Errorf("start after a change of the pinned image boots %q; want %s", r.stdout, digest)
	}
	vm("machine", "stop")

	t.Run("an altered blob is refused", func(t *testing.T) {
		kernel := layerOf(t, src, "kernel")
		blob := filepath.Join(data, "docker", "registry", "v2", "blobs", "sha256", kernel[:2], kernel, "data")
		b, err := os.ReadFile(blob)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0xff
		if err := os.WriteFile(blob, b, 0o644); err != nil {
			t.Fatal(err)
		}
		home := t.TempDir()
		r := runBin(t, bin, append(base[:len(base):len(base)], "SKIFF_HOME="+home, "SKIFF_VMIMAGE_REF="+ref), 5*time.Minute, "machine", "start")
		if r.code != 125 || !strings.Contains(r.stderr, "sha256:"+kernel) || !strings.Contains(r.stderr, "does not match its digest") {
			t.Fatalf("start from an altered blob: %s", r)
		}
		entries, _ := os.ReadDir(filepath.Join(home, "vmimage"))
		for _, e := range entries {
			if e.Name() != ".lock" && e.Name() != "tags.json" {
				t.Errorf("the cache keeps %s", e.Name())
			}
		}
	})

	t.Run("nothing to pull from", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := l.Addr().String()
		l.Close()
		for _, tc := range []struct{ name, ref, want string }{
			{"unreachable", closed + "/skiff/vmimage:e2e", "cannot reach the registry of guest image"},
			{"none pinned", "", "this skiff pins none to pull"},
		} {
			env := append(base[:len(base):len(base)], "SKIFF_HOME="+t.TempDir())
			if tc.ref != "" {
				env = append(env, "SKIFF_VMIMAGE_REF="+tc.ref)
			}
			r := runBin(t, bin, env, 3*time.Minute, "machine", "start")
			if r.code != 125 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "SKIFF_VMIMAGE") {
				t.Errorf("%s: want one line saying what to do: %s", tc.name, r)
			}
		}
	})
}

// runBin runs the skiff binary bin in environ.
func runBin(t *testing.T, bin string, environ []string, timeout time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = environ
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("skiff %v: %v", args, err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	st, _ := in.Stat()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		copyFile(t, filepath.Join(from, e.Name()), filepath.Join(to, e.Name()))
	}
}

func rewriteKernelVersion(t *testing.T, manifest string) {
	t.Helper()
	var m map[string]any
	b, err := os.ReadFile(manifest)
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		t.Fatal(err)
	}
	m["kernel_version"] = "e2e-next"
	if b, err = json.Marshal(m); err == nil {
		err = os.WriteFile(manifest, b, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// layerOf is the sha256 hex of one file of the image in dir (kernel or
// initramfs).
func layerOf(t *testing.T, dir, which string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := vmimage.ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	if which == "kernel" {
		return m.Kernel.SHA256
	}
	return m.Initramfs.SHA256
}

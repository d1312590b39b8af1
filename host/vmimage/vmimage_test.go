package vmimage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// imageDir writes a small guest image folder for arch, as make vmimage
// lays one out.
func imageDir(t *testing.T, arch string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), arch)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := func(name, content string) File {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(content))
		return File{File: name, Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:])}
	}
	m := Manifest{Arch: arch, KernelVersion: "6.1-test", Kernel: file(KernelFile(arch), strings.Repeat("kernel of "+arch+"\n", 1000))}
	if arch == "amd64" {
		bz := file("vmlinuz", "bzimage of amd64")
		m.BzImage = &bz
	}
	m.Initramfs = file("initramfs.cpio", strings.Repeat("initramfs of "+arch+"\n", 3000))
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// testRegistry serves an in-memory registry on loopback and returns its
// host:port.
func testRegistry(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(registry.New(registry.Logger(nopLogger())))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

func pushed(t *testing.T, reg string, arches ...string) (ref, digest string) {
	t.Helper()
	var dirs []string
	for _, a := range arches {
		dirs = append(dirs, imageDir(t, a))
	}
	ref = reg + "/skiff/vmimage:test"
	digest, err := Push(context.Background(), ref, dirs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return ref, digest
}

// cacheLeft lists what a cache folder holds besides its lock and tags.
func cacheLeft(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && p != dir && d.Name() != ".lock" && d.Name() != "tags.json" {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func TestPushPullAndCache(t *testing.T) {
	reg := testRegistry(t)
	ref, digest := pushed(t, reg, "amd64", "arm64")
	c := Cache{Dir: filepath.Join(t.TempDir(), "vmimage")}
	var out bytes.Buffer
	for _, arch := range []string{"amd64", "arm64"} {
		img, pulled, err := c.Get(context.Background(), ref, Options{Arch: arch, Out: &out})
		if err != nil || !pulled {
			t.Fatalf("%s: Get = %v, %v", arch, pulled, err)
		}
		if img.Digest != digest || img.Ref != reg+"/skiff/vmimage@"+digest {
			t.Errorf("%s: image %+v; want digest %s", arch, img, digest)
		}
		if want := filepath.Join(c.Dir, "sha256-"+strings.TrimPrefix(digest, "sha256:"), arch); img.Dir != want {
			t.Errorf("%s: dir %s; want %s", arch, img.Dir, want)
		}
		k, err := os.ReadFile(filepath.Join(img.Dir, KernelFile(arch)))
		if err != nil || !strings.HasPrefix(string(k), "kernel of "+arch) {
			t.Errorf("%s: kernel %q, %v", arch, k[:min(len(k), 20)], err)
		}
	}
	if !strings.Contains(out.String(), "Pulling guest image "+ref+" (linux/amd64)") || !strings.Contains(out.String(), "Pull complete") || !strings.Contains(out.String(), "Digest: "+digest) {
		t.Errorf("progress:\n%s", out.String())
	}
	// Cached: no pull, by tag and by digest, and offline for both.
	if _, pulled, err := c.Get(context.Background(), ref, Options{Arch: "amd64"}); err != nil || pulled {
		t.Errorf("second Get: pulled %v, %v", pulled, err)
	}
	for _, r := range []string{ref, reg + "/skiff/vmimage@" + digest} {
		if img, ok := c.Lookup(r, Options{Arch: "amd64"}); !ok || img.Digest != digest {
			t.Errorf("Lookup(%s) = %+v, %v", r, img, ok)
		}
	}
	if left := cacheLeft(t, c.Dir); len(left) != 1+2+4+3 { // the digest folder, its two arches, their files and manifests
		t.Errorf("cache holds %v", left)
	}
}

func TestGetOfflineUsesLastResolvedTag(t *testing.T) {
	s := httptest.NewServer(registry.New(registry.Logger(nopLogger())))
	reg := strings.TrimPrefix(s.URL, "http://")
	ref, digest := pushed(t, reg, "amd64")
	c := Cache{Dir: t.TempDir()}
	if _, _, err := c.Get(context.Background(), ref, Options{Arch: "amd64"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	img, pulled, err := c.Get(context.Background(), ref, Options{Arch: "amd64"})
	if err != nil || pulled || img.Digest != digest {
		t.Errorf("offline Get = %+v, %v, %v", img, pulled, err)
	}
}

func TestUnreachableRegistry(t *testing.T) {
	s := httptest.NewServer(http.NotFoundHandler())
	reg := strings.TrimPrefix(s.URL, "http://")
	s.Close()
	c := Cache{Dir: filepath.Join(t.TempDir(), "vmimage")}
	for _, ref := range []string{reg + "/skiff/vmimage:test", reg + "/skiff/vmimage@sha256:" + strings.Repeat("a", 64)} {
		_, _, err := c.Get(context.Background(), ref, Options{Arch: "amd64"})
		if !errdefs.IsUnavailable(err) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "SKIFF_VMIMAGE_REF") {
			t.Errorf("%s: %v; want one line saying what to do", ref, err)
		}
	}
	if _, err := os.Stat(c.Dir); err == nil {
		t.Errorf("the cache folder was created")
	}
}

func TestNotAGuestImage(t *testing.T) {
	reg := testRegistry(t)
	img, err := random.Image(100, 1)
	if err != nil {
		t.Fatal(err)
	}
	plain := reg + "/library/busybox:latest"
	r, _ := name.ParseReference(plain)
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	idx, err := random.Index(100, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	other := reg + "/library/multi:latest"
	r, _ = name.ParseReference(other)
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	amd64Only, _ := pushed(t, reg, "amd64")
	for _, tc := range []struct {
		name, ref, arch, want string
		class                 func(error) bool
	}{
		{"an image manifest", plain, "amd64", "is not a skiff guest image: its media type is", errdefs.IsInvalidArgument},
		{"an index without platforms", other, "amd64", "is not a skiff guest image: its index lists no linux manifest", errdefs.IsInvalidArgument},
		{"a missing architecture", amd64Only, "arm64", "has no linux/arm64 manifest (it has amd64)", errdefs.IsNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Cache{Dir: filepath.Join(t.TempDir(), "vmimage")}
			_, _, err := c.Get(context.Background(), tc.ref, Options{Arch: tc.arch})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !tc.class(err) {
				t.Fatalf("Get: %v; want %q", err, tc.want)
			}
			if _, err := os.Stat(c.Dir); err == nil {
				t.Errorf("something was written before the refusal: %v", cacheLeft(t, c.Dir))
			}
		})
	}
}

// corrupt flips a byte of every response body of the blob it names.
type corrupt struct {
	digest string
	next   http.RoundTripper
}

func (c corrupt) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || !strings.HasSuffix(req.URL.Path, "/blobs/"+c.digest) {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	b[len(b)/2] ^= 0xff
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

func TestAlteredBlobIsRefused(t *testing.T) {
	reg := testRegistry(t)
	ref, _ := pushed(t, reg, "amd64")
	c := Cache{Dir: filepath.Join(t.TempDir(), "vmimage")}
	// The initramfs of the fixture.
	b, err := os.ReadFile(filepath.Join(imageDir(t, "amd64"), "initramfs.cpio"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	_, _, err = c.Get(context.Background(), ref, Options{Arch: "amd64", Transport: corrupt{digest, http.DefaultTransport}})
	if !errdefs.IsDataLoss(err) || !strings.Contains(err.Error(), "blob "+digest+" (initramfs.cpio) does not match its digest") {
		t.Fatalf("Get: %v", err)
	}
	if left := cacheLeft(t, c.Dir); len(left) != 0 {
		t.Errorf("the cache keeps %v", left)
	}
}

// fullDisk fails every write once limit bytes are written, as a full
// disk does.
type fullDisk struct {
	f     *os.File
	limit *int64
}

func (d fullDisk) Write(b []byte) (int, error) {
	if int64(len(b)) > *d.limit {
		n, _ := d.f.Write(b[:*d.limit])
		*d.limit = 0
		return n, &os.PathError{Op: "write", Path: d.f.Name(), Err: syscall.ENOSPC}
	}
	*d.limit -= int64(len(b))
	return d.f.Write(b)
}
func (d fullDisk) Sync() error  { return d.f.Sync() }
func (d fullDisk) Close() error { return d.f.Close() }

func TestDiskFullLeavesNothing(t *testing.T) {
	reg := testRegistry(t)
	ref, _ := pushed(t, reg, "amd64")
	c := Cache{Dir: filepath.Join(t.TempDir(), "vmimage")}
	limit := int64(30000)
	o := Options{Arch: "amd64", create: func(p string) (writeFile, error) {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		return fullDisk{f, &limit}, err
	}}
	_, _, err := c.Get(context.Background(), ref, o)
	if err == nil || !errors.Is(err, errDiskFull) || !strings.Contains(err.Error(), "no space left on device while writing") || !strings.Contains(err.Error(), "nothing was kept") {
		t.Fatalf("Get: %v", err)
	}
	if left := cacheLeft(t, c.Dir); len(left) != 0 {
		t.Errorf("the cache keeps %v", left)
	}
	// With space again, the next pull starts over and succeeds.
	if _, pulled, err := c.Get(context.Background(), ref, Options{Arch: "amd64"}); err != nil || !pulled {
		t.Errorf("Get after the disk was freed: %v, %v", pulled, err)
	}
}

func TestInterruptedPullIsRestarted(t *testing.T) {
	reg := testRegistry(t)
	ref, digest := pushed(t, reg, "amd64")
	c := Cache{Dir: filepath.Join(t.TempDir(), "vmimage")}
	// What a pull killed half way leaves: a temporary folder, and a
	// digest folder whose files are there but not its manifest.
	half := filepath.Join(c.Dir, "sha256-"+strings.TrimPrefix(digest, "sha256:"), "amd64")
	for _, d := range []string{filepath.Join(c.Dir, ".tmp-123", "amd64"), half} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "vmlinux"), []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := c.Lookup(ref, Options{Arch: "amd64"}); ok {
		t.Fatal("a half-written image was used")
	}
	img, pulled, err := c.Get(context.Background(), ref, Options{Arch: "amd64"})
	if err != nil || !pulled || img.Dir != half {
		t.Fatalf("Get = %+v, %v, %v", img, pulled, err)
	}
	if _, err := os.Stat(filepath.Join(c.Dir, ".tmp-123")); err == nil {
		t.Error("the interrupted pull's folder is still there")
	}
}

func TestPushRefusesADamagedBuild(t *testing.T) {
	reg := testRegistry(t)
	dir := imageDir(t, "amd64")
	if err := os.WriteFile(filepath.Join(dir, "vmlinux"), []byte("other"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Push(context.Background(), reg+"/x:y", []string{dir}, Options{}); err == nil || !strings.Contains(err.Error(), "vmlinux does not match its manifest") {
		t.Errorf("Push: %v", err)
	}
}

func TestParseManifest(t *testing.T) {
	good := `{"arch":"amd64","kernel":{"file":"vmlinux","size":1,"sha256":"` + strings.Repeat("a", 64) + `"},"initramfs":{"file":"initramfs.cpio","size":2,"sha256":"` + strings.Repeat("b", 64) + `"}}`
	if _, err := ParseManifest([]byte(good)); err != nil {
		t.Fatalf("good manifest: %v", err)
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"unknown arch", `"amd64"`, `"riscv64"`, "not one of"},
		{"path in a name", `"initramfs.cpio"`, `"../../etc/passwd"`, "not a plain file name"},
		{"hidden name", `"initramfs.cpio"`, `".tmp"`, "not a plain file name"},
		{"manifest's own name", `"initramfs.cpio"`, `"manifest.json"`, "named twice"},
		{"kernel name", `"vmlinux"`, `"Image"`, "want vmlinux"},
		{"size", `"size":2`, `"size":-2`, "not between"},
		{"digest", strings.Repeat("b", 64), strings.Repeat("B", 64), "lowercase hex"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseManifest([]byte(strings.Replace(good, tc.from, tc.to, 1)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v; want %q", err, tc.want)
			}
		})
	}
}

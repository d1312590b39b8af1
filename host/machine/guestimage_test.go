package machine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/skiffrun/skiff/host/vmimage"
	"github.com/skiffrun/skiff/platform"
)

// guestImageDir writes a small guest image folder for this host's
// architecture.
func guestImageDir(t *testing.T, kernel string) string {
	t.Helper()
	dir := t.TempDir()
	file := func(name, content string) vmimage.File {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(content))
		return vmimage.File{File: name, Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:])}
	}
	m := vmimage.Manifest{Arch: runtime.GOARCH, KernelVersion: kernel, Kernel: file(vmimage.KernelFile(runtime.GOARCH), "kernel "+kernel), Initramfs: file("initramfs.cpio", "initramfs")}
	b, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(dir, vmimage.ManifestFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func pushGuestImage(t *testing.T, kernel string) (ref, digest string) {
	t.Helper()
	s := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(s.Close)
	ref = strings.TrimPrefix(s.URL, "http://") + "/skiff/vmimage:" + kernel
	digest, err := vmimage.Push(context.Background(), ref, []string{guestImageDir(t, kernel)}, vmimage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return ref, digest
}

func TestPrepareImage(t *testing.T) {
	useFakeDriver(t)
	vmOnce.Do(func() { platform.Register("fakevm", fakeVM{}) })
	t.Setenv("SKIFF_VMIMAGE", "")
	t.Setenv("SKIFF_VMIMAGE_REF", "")
	old := vmimage.DefaultRef
	vmimage.DefaultRef = ""
	t.Cleanup(func() { vmimage.DefaultRef = old })
	home := shortHome(t)
	m, err := New(Options{Home: home, Name: "vm", Driver: "fakevm"})
	if err != nil {
		t.Fatal(err)
	}
	quiet := ImageOptions{Out: io.Discard}

	// Nothing local, nothing pinned: one line saying what to do.
	_, err = m.PrepareImage(context.Background(), quiet)
	if !errdefs.IsNotFound(err) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "make vmimage") || !strings.Contains(err.Error(), "SKIFF_VMIMAGE_REF") {
		t.Fatalf("no image: %v", err)
	}
	if in, _ := m.Info(context.Background(), false); in.Image != nil {
		t.Errorf("Info.Image with no image: %+v", in.Image)
	}

	// The pinned image is pulled into the home's cache.
	ref, digest := pushGuestImage(t, "pinned")
	vmimage.DefaultRef = ref
	b, err := m.PrepareImage(context.Background(), quiet)
	if err != nil || b.Digest != digest || !strings.HasPrefix(b.Dir, filepath.Join(home, "vmimage")) || b.KernelVersion != "pinned" {
		t.Fatalf("pinned: %+v, %v", b, err)
	}
	if f, err := m.bootFiles(runtime.GOARCH); err != nil || f.kernel != filepath.Join(b.Dir, vmimage.KernelFile(runtime.GOARCH)) {
		t.Errorf("boot files %+v, %v", f, err)
	}
	if err := m.RecordImage(b); err != nil {
		t.Fatal(err)
	}
	// SKIFF_VMIMAGE_REF overrides the pinned one; the host daemon (a
	// new Machine) boots what was recorded.
	other, otherDigest := pushGuestImage(t, "mirror")
	t.Setenv("SKIFF_VMIMAGE_REF", other)
	daemon, _ := New(Options{Home: home, Name: "vm", Driver: "fakevm"})
	if f, err := daemon.bootFiles(runtime.GOARCH); err != nil || !strings.Contains(f.kernel, strings.TrimPrefix(digest, "sha256:")) {
		t.Errorf("the daemon boots %+v, %v; want the recorded %s", f, err, digest)
	}
	if in, _ := m.Info(context.Background(), false); in.Image == nil || in.Image.Digest != digest || in.NextImage != other {
		t.Errorf("Info: image %+v, next %q; want %s, then %s", in.Image, in.NextImage, digest, other)
	}
	if b, err := m.PrepareImage(context.Background(), quiet); err != nil || b.Digest != otherDigest {
		t.Errorf("SKIFF_VMIMAGE_REF: %+v, %v", b, err)
	}

	// A local image wins over any reference, but not over --image.
	local := guestImageDir(t, "local")
	t.Setenv("SKIFF_VMIMAGE", local)
	if b, err := m.PrepareImage(context.Background(), quiet); err != nil || b.Dir != local || b.Ref != "" || b.KernelVersion != "local" {
		t.Errorf("SKIFF_VMIMAGE: %+v, %v", b, err)
	}
	if b, err := m.PrepareImage(context.Background(), ImageOptions{Ref: ref, Out: io.Discard}); err != nil || b.Digest != digest {
		t.Errorf("--image: %+v, %v", b, err)
	}

	// The native driver boots no image.
	n, _ := New(Options{Home: home, Name: "n", Driver: "fake"})
	if b, err := n.PrepareImage(context.Background(), quiet); err != nil || b != (BootImage{}) {
		t.Errorf("native: %+v, %v", b, err)
	}
}

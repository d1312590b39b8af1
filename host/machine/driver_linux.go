package machine

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/skiffrun/skiff/host/vmimage"
	"github.com/skiffrun/skiff/platform"
)

// probeTimeout bounds deciding the default driver; the qemu driver caches
// its answer per host boot, so only the first command pays.
const probeTimeout = 10 * time.Second

// defaultDriver is qemu where KVM really runs the guest image (a trial
// boot says so), else native: without KVM a VM is several times slower
// than the agent on the host, so QEMU under TCG is for SKIFF_DRIVER=qemu.
// The trial boots a local guest image or one already pulled; with
// neither, but an image to pull (ImageRef), it is qemu when /dev/kvm
// opens, and the start pulls the image (the qemu driver falls back to TCG
// if KVM then fails).
func defaultDriver(dir string) string {
	d, err := platform.Lookup("qemu")
	if err != nil {
		return "native"
	}
	acc, ok := d.(platform.Accelerated)
	if !ok {
		return "native"
	}
	if _, err := os.Stat("/dev/kvm"); err != nil {
		return "native"
	}
	arch := runtime.GOARCH
	img, _, ok := localVMImage(arch)
	if !ok {
		ref := ImageRef()
		if ref == "" {
			return "native"
		}
		home := filepath.Dir(filepath.Dir(dir))
		pulled, ok := imageCache(home).Lookup(ref, vmimage.Options{Arch: arch})
		if !ok {
			return pullable(arch)
		}
		img = BootImage{Dir: pulled.Dir}
	}
	files := img.files(arch)
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	spec := platform.MachineSpec{Dir: dir, Arch: arch, Kernel: files.kernel, Initrd: files.initrd}
	if acc.Accelerated(ctx, spec) {
		return "qemu"
	}
	return "native"
}

// pullable is the driver for a host with an image to pull and none to
// try: qemu when /dev/kvm opens and QEMU is installed.
func pullable(arch string) string {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return "native"
	}
	f.Close()
	bin := "qemu-system-x86_64"
	if arch == "arm64" {
		bin = "qemu-system-aarch64"
	}
	if _, err := exec.LookPath(bin); err != nil {
		return "native"
	}
	return "qemu"
}

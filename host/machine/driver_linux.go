package machine

import (
	"context"
	"os"
	"runtime"
	"time"

	"github.com/skiffrun/skiff/platform"
)

// probeTimeout bounds deciding the default driver; the qemu driver caches
// its answer per host boot, so only the first command pays.
const probeTimeout = 10 * time.Second

// defaultDriver is qemu where KVM really runs the guest image (a trial
// boot says so), else native: without KVM a VM is several times slower
// than the agent on the host, so QEMU under TCG is for SKIFF_DRIVER=qemu.
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
	img, err := findVMImage(runtime.GOARCH)
	if err != nil {
		return "native"
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	spec := platform.MachineSpec{Dir: dir, Arch: runtime.GOARCH, Kernel: img.kernel, Initrd: img.initrd}
	if acc.Accelerated(ctx, spec) {
		return "qemu"
	}
	return "native"
}

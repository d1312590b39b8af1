//go:build e2e && linux

package machine

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiffrun/skiff/vmimage/kernel"
)

// TestMachineKernel boots the built vmimage and checks the running
// kernel: its configuration (/proc/config.gz, read from a container) has
// every setting of skiff's fragment, and it has no modules: no
// /proc/modules (so lsmod lists nothing), no /lib/modules in the
// initramfs that is the machine's root.
func TestMachineKernel(t *testing.T) {
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			if a := os.Getenv("SKIFF_E2E_ARCHES"); a != "" && !strings.Contains(a, arch) {
				t.Skipf("SKIFF_E2E_ARCHES=%s", a)
			}
			vm := newTestVM(t, arch)
			initramfs, err := os.ReadFile(filepath.Join(vm.image, vm.manifest.Initramfs.File))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(initramfs, []byte("lib/modules")) {
				t.Error("the initramfs has a lib/modules directory")
			}
			ready := vm.boot(t)
			t.Logf("%s: launch to \"skiff-agent: ready\": %v", arch, ready)
			c := vm.connect(t, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			out, code := runContainer(ctx, t, c, "sh", "-c",
				"zcat /proc/config.gz && echo '# end of config' && if [ -e /proc/modules ]; then echo HAS /proc/modules; cat /proc/modules; fi; echo rng: $(cat /sys/devices/virtual/misc/hw_random/rng_current)")
			if code != 0 {
				t.Fatalf("reading /proc/config.gz: exit %d: %s", code, out)
			}
			cfg, rest, ok := strings.Cut(out, "# end of config\n")
			if !ok {
				t.Fatalf("no config in %q", out)
			}
			if strings.Contains(rest, "HAS /proc/modules") {
				t.Errorf("the kernel has modules:\n%s", rest)
			}
			// Without it the first container after a boot waits for the
			// kernel's random pool.
			if !strings.Contains(rest, "rng: virtio_rng") {
				t.Errorf("the kernel uses no virtio-rng device as its hardware random source: %q", rest)
			}
			have, err := kernel.ParseConfig([]byte(cfg))
			if err != nil {
				t.Fatal(err)
			}
			frag, err := kernel.Fragment(arch)
			if err != nil {
				t.Fatal(err)
			}
			want, err := kernel.ParseConfig(frag)
			if err != nil {
				t.Fatal(err)
			}
			if miss := kernel.Missing(want, have); len(miss) > 0 {
				t.Errorf("the running kernel lacks: %s", strings.Join(miss, ", "))
			}
			t.Logf("%s: %d settings checked; boot phases: %s", arch, len(want), consolePhases(vm))
		})
	}
}

// consolePhases is the agent's boot-phases line from the console.
func consolePhases(vm *testVM) string {
	log, _ := os.ReadFile(filepath.Join(vm.dir, "console.log"))
	for _, l := range strings.Split(string(log), "\n") {
		if _, p, ok := strings.Cut(l, "boot phases: "); ok {
			return p
		}
	}
	return "(none on the console)"
}

// TestMachineGivesMemoryBack runs a container that touches 1 GiB in a
// 2 GiB machine and exits; with free page reporting the QEMU process's
// resident memory, read on the host, must fall back to within 200 MB of
// what it was idle within 15 s.
func TestMachineGivesMemoryBack(t *testing.T) {
	arch := "amd64"
	if a := os.Getenv("SKIFF_E2E_ARCHES"); a != "" && !strings.Contains(a, arch) {
		t.Skipf("SKIFF_E2E_ARCHES=%s", a)
	}
	vm := newTestVM(t, arch)
	vm.memMiB = 2048
	vm.boot(t)
	c := vm.connect(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, code := runContainer(ctx, t, c, "true"); code != 0 {
		t.Fatalf("warm-up container: exit %d: %s", code, out)
	}
	idle := settledRSS(t, vm.cmd.Process.Pid)
	// dd reads 1 GiB of zeros into one buffer: the kernel writes every
	// page of it.
	out, code := runContainer(ctx, t, c, "dd", "if=/dev/zero", "of=/dev/null", "bs=1G", "count=1")
	if code != 0 {
		t.Fatalf("dd: exit %d: %s", code, out)
	}
	peak := rss(t, vm.cmd.Process.Pid)
	start := time.Now()
	var now int64
	for time.Since(start) < 15*time.Second {
		now = rss(t, vm.cmd.Process.Pid)
		if now-idle <= 200<<20 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("QEMU RSS: idle %d MiB, after the 1 GiB container %d MiB, %v later %d MiB (%.0f%% of the growth returned)",
		idle>>20, peak>>20, time.Since(start).Round(100*time.Millisecond), now>>20, 100*float64(peak-now)/float64(max(peak-idle, 1)))
	if peak-idle < 512<<20 {
		t.Errorf("the container's 1 GiB raised QEMU's RSS by only %d MiB: did it touch the memory?", (peak-idle)>>20)
	}
	if now-idle > 200<<20 {
		t.Errorf("QEMU's RSS is %d MiB above idle 15 s after the container exited, want at most 200", (now-idle)>>20)
	}
}

// settledRSS waits until QEMU's RSS stops moving (the boot's pages are
// reported free a few seconds after they are freed), and returns it.
func settledRSS(t *testing.T, pid int) int64 {
	prev := rss(t, pid)
	for range 40 {
		time.Sleep(500 * time.Millisecond)
		now := rss(t, pid)
		if d := now - prev; d < 4<<20 && d > -4<<20 {
			return now
		}
		prev = now
	}
	return prev
}

// rss is a process's resident memory in bytes (VmRSS).
func rss(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/PID/status")
	return 0
}

package machine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiffrun/skiff/guest/api/wire"
)

// moduleFiles are the kernel modules the initramfs ships, opened so they
// can load after the initramfs is gone.
type moduleFiles struct {
	deps  moduleDeps
	files map[string]*os.File
	plan  modulePlan
	// mu guards failed: two plans' lists may load at once.
	mu sync.Mutex
	// failed holds the modules that did not load, and why.
	failed map[string]error
}

// openModules opens every module shipped for the running kernel and
// plans when each loads (planModules).
func openModules(cfg wire.BootConfig) (*moduleFiles, error) {
	m := &moduleFiles{files: map[string]*os.File{}, failed: map[string]error{}}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return m, err
	}
	dir := filepath.Join("/lib/modules", unix.ByteSliceToString(u.Release[:]))
	data, err := os.ReadFile(filepath.Join(dir, "modules.dep"))
	if errors.Is(err, os.ErrNotExist) {
		return m, nil // a kernel with everything built in
	} else if err != nil {
		return m, err
	}
	if m.deps, err = parseModulesDep(data); err != nil {
		return m, err
	}
	if m.plan, err = planModules(m.deps, cfg, findBuses(cfg.Buses)); err != nil {
		return m, err
	}
	var errs []error
	for p := range m.deps {
		f, err := os.Open(filepath.Join(dir, p))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m.files[p] = f
	}
	return m, errors.Join(errs...)
}

// findBuses returns the buses the driver named on the command line, or
// else those the firmware describes. When it finds no bus at all it says
// both of virtio's, so that a machine it does not know still boots.
func findBuses(named []string) buses {
	if len(named) > 0 {
		return buses{hyperV: slices.Contains(named, wire.BusVMBus), mmio: slices.Contains(named, wire.BusMMIO), pci: slices.Contains(named, wire.BusPCI)}
	}
	b := buses{hyperV: onHyperV(), mmio: onVirtioMMIO(), pci: onVirtioPCI()}
	if !b.hyperV && !b.mmio && !b.pci {
		b.mmio, b.pci = true, true
	}
	return b
}

// onVirtioMMIO reports whether firmware describes virtio-mmio devices:
// in ACPI (LNRO0005, QEMU's microvm), in the device tree (QEMU's virt) or
// on the kernel command line.
func onVirtioMMIO() bool {
	for _, g := range []string{"/sys/bus/acpi/devices/LNRO0005:*", "/sys/bus/platform/devices/*.virtio_mmio", "/sys/bus/platform/devices/*virtio-mmio*", "/sys/firmware/devicetree/base/virtio_mmio@*"} {
		if m, _ := filepath.Glob(g); len(m) > 0 {
			return true
		}
	}
	return false
}

// onVirtioPCI reports whether a PCI device is virtio's (vendor 0x1af4).
func onVirtioPCI() bool {
	vendors, _ := filepath.Glob("/sys/bus/pci/devices/*/vendor")
	for _, v := range vendors {
		if b, err := os.ReadFile(v); err == nil && strings.TrimSpace(string(b)) == "0x1af4" {
			return true
		}
	}
	return false
}

// onHyperV reports whether firmware describes a Hyper-V VMBus (the ACPI
// IDs hv_vmbus binds to), so its modules are needed at boot.
func onHyperV() bool {
	for _, id := range []string{"VMBUS", "VMBus", "MSFT1000"} {
		if m, _ := filepath.Glob("/sys/bus/acpi/devices/" + id + ":*"); len(m) > 0 {
			return true
		}
	}
	return false
}

// load loads mods, each after those it needs, and returns a line for the
// console that says how that went. In the foreground it uses every CPU;
// in the background one thread at the lowest priority, so the agent's
// start is not slowed. A module that fails (hv_vmbus outside Hyper-V) is
// skipped with the modules that need it; that is not an error.
func (m *moduleFiles) load(mods []string, background, debug bool) string {
	if len(mods) == 0 {
		return "no kernel modules to load"
	}
	start := time.Now()
	// Modules that need one that failed before are not tried again.
	var todo []string
	m.mu.Lock()
next:
	for _, p := range mods {
		for _, d := range m.deps[p] {
			if m.failed[d] != nil {
				m.failed[p] = m.failed[d]
				continue next
			}
		}
		todo = append(todo, p)
	}
	m.mu.Unlock()
	workers := runtime.NumCPU()
	if background {
		workers = 1
	}
	failed := loadAll(todo, m.deps, workers, func(p string) error {
		if background {
			// The thread stays locked and niced: it ends with its
			// goroutine rather than serve others at this priority.
			runtime.LockOSThread()
			_ = unix.Setpriority(unix.PRIO_PROCESS, 0, 19)
		}
		f, ok := m.files[p]
		if !ok {
			return os.ErrNotExist
		}
		defer f.Close()
		t := time.Now()
		err := unix.FinitModule(int(f.Fd()), "", 0)
		if errors.Is(err, unix.EEXIST) {
			err = nil
		}
		if debug && err == nil {
			logf("module %s loaded in %v", moduleName(p), time.Since(t).Round(time.Millisecond))
		}
		return err
	})
	m.mu.Lock()
	defer m.mu.Unlock()
	for p, err := range failed {
		m.failed[p] = err
		if debug {
			logf("module %s: %v", moduleName(p), err)
		}
	}
	return fmt.Sprintf("loaded %d of %d kernel modules in %v", len(todo)-len(failed), len(mods), time.Since(start).Round(time.Millisecond))
}

// modulesLoaded exists once PID 1 has loaded (or tried) every kernel
// module; /run is shared by PID 1 and the agent.
const modulesLoaded = "/run/skiff/modules-loaded"

func markContainersReady() error {
	if err := os.MkdirAll(filepath.Dir(modulesLoaded), 0o755); err != nil {
		return fmt.Errorf("mark kernel modules loaded: %w", err)
	}
	if err := os.WriteFile(modulesLoaded, nil, 0o644); err != nil {
		return fmt.Errorf("mark kernel modules loaded: %w", err)
	}
	return nil
}

// containersReady returns once PID 1 has loaded every kernel module, so
// container storage and networking work, or when ctx ends.
func containersReady(ctx context.Context) error {
	for {
		if _, err := os.Stat(modulesLoaded); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

package machine

import (
	"bufio"
	"bytes"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/skiffrun/skiff/guest/api/wire"
)

// moduleDeps is a parsed modules.dep: each module's path (relative to
// /lib/modules/<release>) mapped to the paths of every module it needs.
type moduleDeps map[string][]string

// parseModulesDep reads modules.dep lines of the form
// "kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/netfs/netfs.ko".
func parseModulesDep(data []byte) (moduleDeps, error) {
	deps := moduleDeps{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		mod, rest, ok := strings.Cut(line, ":")
		if !ok || mod == "" {
			return nil, fmt.Errorf("modules.dep line %d: no \"module:\"", n)
		}
		deps[mod] = strings.Fields(rest)
	}
	return deps, sc.Err()
}

// loadOrder lists every module of deps so that each comes after all the
// modules it needs; modules that need nothing of each other keep their
// path order. A dependency that modules.dep does not list is an error, as
// is a cycle.
func (deps moduleDeps) loadOrder() ([]string, error) {
	state := map[string]int{} // 1: visiting, 2: placed
	var order []string
	var visit func(p string, chain []string) error
	visit = func(p string, chain []string) error {
		switch state[p] {
		case 1:
			return fmt.Errorf("module dependency cycle: %s", strings.Join(append(chain, p), " -> "))
		case 2:
			return nil
		}
		ds, ok := deps[p]
		if !ok {
			return fmt.Errorf("module %s needs %s, which modules.dep does not list", chain[len(chain)-1], p)
		}
		state[p] = 1
		for _, d := range slices.Sorted(slices.Values(ds)) {
			if err := visit(d, append(chain, p)); err != nil {
				return err
			}
		}
		state[p] = 2
		order = append(order, p)
		return nil
	}
	for _, p := range slices.Sorted(func(yield func(string) bool) {
		for p := range deps {
			if !yield(p) {
				return
			}
		}
	}) {
		if err := visit(p, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// moduleName is the kernel's name for the module at path p: its base
// name without ".ko", dashes as underscores.
func moduleName(p string) string {
	b := path.Base(p)
	if i := strings.Index(b, ".ko"); i >= 0 {
		b = b[:i]
	}
	return strings.ReplaceAll(b, "-", "_")
}

// Modules the machine needs before the agent starts: the devices of the
// console, the host channel, the data disk and the network, and the
// power button. The data disk's file system (diskModules) loads while the
// root moves to a tmpfs and the agent starts, and the agent waits for it
// before it mounts the disk. Every other module (container storage and
// networking, entropy, Hyper-V services) loads after that, and requests
// that run containers wait for them (ContainersReady). The Hyper-V
// devices', the shares' and vsock's modules are needed at boot only when
// the machine has or uses them.
var (
	bootModules     = []string{"virtio_console", "virtio_blk", "virtio_net", "button", "evdev"}
	diskModules     = []string{"ext4", "crc32c_generic", "crc32c_intel"}
	hyperVModules   = []string{"hv_vmbus", "hv_storvsc", "hv_netvsc", "sd_mod"}
	mmioModules     = []string{"virtio_mmio"}
	pciModules      = []string{"virtio_pci"}
	ninePModules    = []string{"9p", "9pnet", "9pnet_virtio"}
	ninePFDModules  = []string{"9p", "9pnet", "9pnet_fd"} // 9p on a socket: HCS's Plan 9 server over vsock
	virtiofsModules = []string{"fuse", "virtiofs"}
	vsockModules    = []string{"vsock", "vmw_vsock_virtio_transport", "vmw_vsock_virtio_transport_common", "hv_sock"}
)

// buses are the device buses a machine has; only their drivers load at
// boot (under emulation a module costs tens of milliseconds), the others
// later.
type buses struct {
	// hyperV: Hyper-V's VMBus; mmio: virtio on MMIO (QEMU's microvm and
	// virt); pci: virtio on PCI (Virtualization.framework).
	hyperV, mmio, pci bool
}

// modulePlan is when each kernel module loads; each list is in load
// order, and a module comes in the first list that needs it.
type modulePlan struct {
	// now load before the agent starts.
	now []string
	// disk load while the agent starts, before it mounts the data disk.
	disk []string
	// later load after disk, in the background.
	later []string
}

// planModules plans the modules of deps: now are bootModules and those
// the machine's devices, shares and transport need, disk are
// diskModules, later the rest; each comes with every module it needs.
// bus says which buses the machine's devices are on.
func planModules(deps moduleDeps, cfg wire.BootConfig, bus buses) (modulePlan, error) {
	wanted := map[string]bool{}
	for _, n := range bootModules {
		wanted[n] = true
	}
	var nineP, ninePFD, virtiofs, vsock bool
	vsock = cfg.Agent.Kind == wire.TransportVsock
	for _, s := range cfg.Shares {
		switch s.FSType {
		case wire.FS9P:
			nineP = true
		case wire.FS9PVsock:
			ninePFD, vsock = true, true
		case wire.FSVirtiofs:
			virtiofs = true
		}
	}
	for _, g := range []struct {
		names []string
		need  bool
	}{{hyperVModules, bus.hyperV}, {mmioModules, bus.mmio}, {pciModules, bus.pci}, {ninePModules, nineP}, {ninePFDModules, ninePFD}, {virtiofsModules, virtiofs}, {vsockModules, vsock}} {
		for _, n := range g.names {
			wanted[n] = wanted[n] || g.need
		}
	}
	closure := func(want func(string) bool) map[string]bool {
		set := map[string]bool{}
		for p, ds := range deps {
			if !want(moduleName(p)) {
				continue
			}
			set[p] = true
			for _, d := range ds {
				set[d] = true
			}
		}
		return set
	}
	atBoot := closure(func(n string) bool { return wanted[n] })
	forDisk := closure(func(n string) bool { return slices.Contains(diskModules, n) })
	order, err := deps.loadOrder()
	if err != nil {
		return modulePlan{}, err
	}
	var plan modulePlan
	for _, p := range order {
		switch {
		case atBoot[p]:
			plan.now = append(plan.now, p)
		case forDisk[p]:
			plan.disk = append(plan.disk, p)
		default:
			plan.later = append(plan.later, p)
		}
	}
	return plan, nil
}

// loadAll calls load for every module of mods (in load order) on up to
// workers goroutines, starting a module only once every module it needs
// has loaded. A module whose load fails, or that needs one that failed,
// is not loaded; failed maps it to the error. Modules that mods does not
// list count as loaded.
func loadAll(mods []string, deps moduleDeps, workers int, load func(string) error) (failed map[string]error) {
	failed = map[string]error{}
	inSet := map[string]bool{}
	for _, m := range mods {
		inSet[m] = true
	}
	var mu sync.Mutex
	waiting := map[string]int{}         // unloaded modules m still needs
	dependents := map[string][]string{} // who waits for m
	ready := make(chan string, len(mods))
	for _, m := range mods {
		for _, d := range deps[m] {
			if inSet[d] {
				waiting[m]++
				dependents[d] = append(dependents[d], m)
			}
		}
		if waiting[m] == 0 {
			ready <- m
		}
	}
	remaining := len(mods)
	if remaining == 0 {
		return failed
	}
	var finish func(m string, err error)
	finish = func(m string, err error) {
		// Called with mu held.
		remaining--
		if err != nil {
			failed[m] = err
		}
		for _, dep := range dependents[m] {
			if err != nil {
				if _, done := failed[dep]; !done {
					finish(dep, fmt.Errorf("needs %s, which failed", moduleName(m)))
				}
				continue
			}
			waiting[dep]--
			if waiting[dep] == 0 {
				if _, done := failed[dep]; !done {
					ready <- dep
				}
			}
		}
	}
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range ready {
				err := load(m)
				mu.Lock()
				finish(m, err)
				// finish is recursive: close once, after the outermost.
				if remaining == 0 {
					close(ready)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return failed
}

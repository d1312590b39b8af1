package machine

import (
	"bufio"
	"bytes"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
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

// Modules the agent needs only after it serves (container networking),
// or only for some configurations: they load in the background, so the
// agent is ready sooner.
var (
	laterModules    = []string{"nf_tables", "nf_nat", "nf_conntrack", "nft_masq", "nft_chain_nat", "nft_nat", "nft_ct", "veth", "bridge", "br_netfilter", "tun"}
	ninePModules    = []string{"9p", "9pnet", "9pnet_virtio"}
	virtiofsModules = []string{"fuse", "virtiofs"}
	vsockModules    = []string{"vsock", "vmw_vsock_virtio_transport", "vmw_vsock_virtio_transport_common", "hv_sock"}
)

// planModules splits the modules of deps into those to load before the
// agent starts and those that can load while it serves, each list in
// load order. Modules that no other module needs are wanted for
// themselves: they load at boot unless deferred, and bring what they need.
func planModules(deps moduleDeps, cfg Config) (now, later []string, err error) {
	deferred := map[string]bool{}
	for _, n := range laterModules {
		deferred[n] = true
	}
	var nineP, virtiofs, vsock bool
	vsock = cfg.Agent.Kind == TransportVsock
	for _, s := range cfg.Shares {
		switch s.FSType {
		case FS9P:
			nineP = true
		case FS9PVsock:
			nineP, vsock = true, true
		case FSVirtiofs:
			virtiofs = true
		}
	}
	for _, g := range []struct {
		names []string
		need  bool
	}{{ninePModules, nineP}, {virtiofsModules, virtiofs}, {vsockModules, vsock}} {
		for _, n := range g.names {
			deferred[n] = !g.need
		}
	}
	needed := map[string]bool{}
	for _, ds := range deps {
		for _, d := range ds {
			needed[d] = true
		}
	}
	atBoot := map[string]bool{}
	for p, ds := range deps {
		if deferred[moduleName(p)] || needed[p] {
			continue
		}
		atBoot[p] = true
		for _, d := range ds {
			atBoot[d] = true
		}
	}
	order, err := deps.loadOrder()
	if err != nil {
		return nil, nil, err
	}
	for _, p := range order {
		if atBoot[p] {
			now = append(now, p)
		} else {
			later = append(later, p)
		}
	}
	return now, later, nil
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
		if remaining == 0 {
			close(ready)
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
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return failed
}

package machine

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/skiffrun/skiff/guest/api/wire"
)

const testModulesDep = `kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/netfs/netfs.ko kernel/fs/fscache/fscache.ko
kernel/net/9p/9pnet.ko:
kernel/fs/netfs/netfs.ko:
kernel/fs/fscache/fscache.ko: kernel/fs/netfs/netfs.ko
kernel/net/9p/9pnet_virtio.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko kernel/net/9p/9pnet.ko
kernel/net/9p/9pnet_fd.ko: kernel/net/9p/9pnet.ko
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/char/virtio_console.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko
kernel/drivers/hv/hv_vmbus.ko:
kernel/net/vmw_vsock/hv_sock.ko: kernel/drivers/hv/hv_vmbus.ko kernel/net/vmw_vsock/vsock.ko
kernel/net/vmw_vsock/vsock.ko:
kernel/net/netfilter/nf_tables.ko: kernel/net/netfilter/nfnetlink.ko
kernel/net/netfilter/nfnetlink.ko:
kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko kernel/lib/crc16.ko
kernel/fs/jbd2/jbd2.ko:
kernel/lib/crc16.ko:
`

func mustDeps(t *testing.T) moduleDeps {
	t.Helper()
	deps, err := parseModulesDep([]byte(testModulesDep))
	if err != nil {
		t.Fatal(err)
	}
	return deps
}

func TestLoadOrderPutsDependenciesFirst(t *testing.T) {
	deps := mustDeps(t)
	order, err := deps.loadOrder()
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != len(deps) {
		t.Fatalf("order has %d modules, want %d", len(order), len(deps))
	}
	pos := map[string]int{}
	for i, p := range order {
		pos[p] = i
	}
	for m, ds := range deps {
		for _, d := range ds {
			if pos[d] > pos[m] {
				t.Errorf("%s comes after %s, which needs it", d, m)
			}
		}
	}
}

func TestLoadOrderErrors(t *testing.T) {
	for name, dep := range map[string]string{
		"missing dependency": "a.ko: b.ko\n",
		"cycle":              "a.ko: b.ko\nb.ko: a.ko\n",
		"no colon":           "a.ko b.ko\n",
	} {
		t.Run(name, func(t *testing.T) {
			deps, err := parseModulesDep([]byte(dep))
			if err == nil {
				_, err = deps.loadOrder()
			}
			if err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestPlanModules(t *testing.T) {
	deps := mustDeps(t)
	names := func(ps []string) []string {
		var n []string
		for _, p := range ps {
			n = append(n, moduleName(p))
		}
		slices.Sort(n)
		return n
	}
	// A serial agent with no shares needs neither 9p nor vsock at boot,
	// and container networking never holds the agent back.
	plan, err := planModules(deps, wire.BootConfig{Agent: wire.Transport{Kind: wire.TransportSerial, Name: "a"}}, buses{mmio: true, pci: true})
	if err != nil {
		t.Fatal(err)
	}
	now, later := plan.now, plan.later
	if got, want := names(plan.disk), []string{"crc16", "ext4", "jbd2"}; !slices.Equal(got, want) {
		t.Errorf("serial: disk %v, want %v", got, want)
	}
	if got, want := names(now), []string{"virtio", "virtio_console", "virtio_ring"}; !slices.Equal(got, want) {
		t.Errorf("serial: now %v, want %v", got, want)
	}
	if got, want := names(later), []string{"9p", "9pnet", "9pnet_fd", "9pnet_virtio", "fscache", "hv_sock", "hv_vmbus", "netfs", "nf_tables", "nfnetlink", "vsock"}; !slices.Equal(got, want) {
		t.Errorf("serial: later %v, want %v", got, want)
	}
	// 9p over vsock needs the 9p client and vsock before the agent
	// starts; on Hyper-V, so does the VMBus.
	plan, err = planModules(deps, wire.BootConfig{Agent: wire.Transport{Kind: wire.TransportVsock, Port: 1}, Shares: []wire.Share{{Tag: "c", FSType: wire.FS9PVsock, Path: "/c"}}}, buses{hyperV: true})
	if err != nil {
		t.Fatal(err)
	}
	now = plan.now
	for _, n := range []string{"9p", "9pnet", "9pnet_fd", "netfs", "fscache", "vsock", "hv_sock", "hv_vmbus"} {
		if !slices.Contains(names(now), n) {
			t.Errorf("9p-vsock: %s not loaded at boot (%v)", n, names(now))
		}
	}
	if slices.Contains(names(now), "9pnet_virtio") {
		t.Errorf("9p-vsock: 9pnet_virtio loaded at boot (%v)", names(now))
	}
}

func TestLoadAllWaitsForDependenciesAndSkipsFailures(t *testing.T) {
	deps := mustDeps(t)
	order, err := deps.loadOrder()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	loaded := map[string]bool{}
	failed := loadAll(order, deps, 4, func(p string) error {
		mu.Lock()
		defer mu.Unlock()
		for _, d := range deps[p] {
			if !loaded[d] {
				t.Errorf("%s started before %s loaded", p, d)
			}
		}
		if moduleName(p) == "hv_vmbus" {
			return errors.New("no such device")
		}
		loaded[p] = true
		return nil
	})
	if len(failed) != 2 || failed["kernel/drivers/hv/hv_vmbus.ko"] == nil || failed["kernel/net/vmw_vsock/hv_sock.ko"] == nil {
		t.Errorf("failed %v, want hv_vmbus and hv_sock", failed)
	}
	if len(loaded) != len(order)-2 {
		t.Errorf("loaded %d of %d", len(loaded), len(order)-2)
	}
}

func TestModuleName(t *testing.T) {
	for in, want := range map[string]string{
		"kernel/drivers/char/hw_random/virtio-rng.ko": "virtio_rng",
		"kernel/fs/9p/9p.ko":                          "9p",
		"kernel/fs/ext4/ext4.ko.xz":                   "ext4",
	} {
		if got := moduleName(in); got != want {
			t.Errorf("moduleName(%q) = %q, want %q", in, got, want)
		}
	}
}

// A failure that is the last load, with modules that need it, must end
// the load cleanly: the modules that need it fail with it.
func TestLoadAllEndsOnAFailureWithDependents(t *testing.T) {
	deps := mustDeps(t)
	// One worker takes vsock, then hv_vmbus, whose failure ends hv_sock too.
	mods := []string{"kernel/net/vmw_vsock/vsock.ko", "kernel/drivers/hv/hv_vmbus.ko", "kernel/net/vmw_vsock/hv_sock.ko"}
	done := make(chan map[string]error, 1)
	go func() {
		done <- loadAll(mods, deps, 1, func(p string) error {
			if moduleName(p) == "hv_vmbus" {
				return errors.New("no such device")
			}
			return nil
		})
	}()
	select {
	case failed := <-done:
		if len(failed) != 2 {
			t.Errorf("failed %v, want hv_vmbus and hv_sock", failed)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("loadAll did not return")
	}
}

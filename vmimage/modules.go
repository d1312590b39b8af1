package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/skiffrun/skiff/vmimage/cpio"
)

// wantedModules are the kernel modules the agent loads at boot, by module
// name. Their dependencies come along; names that are built into the
// kernel, or that it does not have, need nothing.
var wantedModules = []string{
	// virtio transports and devices
	"virtio", "virtio_ring", "virtio_pci", "virtio_pci_modern_dev", "virtio_pci_legacy_dev",
	"virtio_mmio", "virtio_blk", "virtio_net", "failover", "net_failover", "virtio_console",
	"virtio_rng",
	// the host channel
	"vsock", "vmw_vsock_virtio_transport", "vmw_vsock_virtio_transport_common", "hv_sock",
	// shares
	"9p", "9pnet", "9pnet_virtio", "9pnet_fd", "netfs", "fscache", "fuse", "virtiofs",
	// the data disk and container storage; ext4 asks the crypto API for
	// crc32c by name, which nothing loads on demand without modprobe
	"ext4", "crc32c_generic", "crc32c_intel", "overlay", "sd_mod",
	// container networking
	"nf_tables", "nf_nat", "nf_conntrack", "nft_masq", "nft_chain_nat", "nft_nat", "nft_ct",
	"veth", "bridge", "br_netfilter", "tun",
	// Hyper-V
	"hv_vmbus", "hv_storvsc", "hv_netvsc", "hv_utils",
	// the ACPI power button, so the host can ask for a clean shutdown
	"button", "evdev",
}

// moduleName is the name of the module in a .ko file: its base name with
// dashes as underscores, as the kernel spells it.
func moduleName(p string) string {
	b := path.Base(p)
	if i := strings.Index(b, ".ko"); i >= 0 { // .ko, .ko.xz and the like
		b = b[:i]
	}
	return strings.ReplaceAll(b, "-", "_")
}

// parseModulesDep reads modules.dep: "kernel/a.ko: kernel/b.ko kernel/c.ko".
// It maps each module's path to the paths of the modules it needs.
func parseModulesDep(data []byte) (map[string][]string, error) {
	deps := map[string][]string{}
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

// resolveModules returns the paths of the wanted modules and everything
// they need, each after its dependencies, and the wanted names that are
// neither modules nor built in.
func resolveModules(deps map[string][]string, builtin map[string]bool, wanted []string) (order, unknown []string, err error) {
	byName := map[string]string{}
	for p := range deps {
		byName[moduleName(p)] = p
	}
	state := map[string]int{} // 1: visiting, 2: done
	var visit func(p string, chain []string) error
	visit = func(p string, chain []string) error {
		switch state[p] {
		case 1:
			return fmt.Errorf("module dependency cycle: %s", strings.Join(append(chain, p), " → "))
		case 2:
			return nil
		}
		state[p] = 1
		ds, ok := deps[p]
		if !ok {
			return fmt.Errorf("module %s needs %s, which modules.dep does not list", chain[len(chain)-1], p)
		}
		// modules.dep lists every module p needs, direct or not; sorting
		// keeps the order independent of depmod's.
		ds = slices.Sorted(slices.Values(ds))
		for _, d := range ds {
			if err := visit(d, append(chain, p)); err != nil {
				return err
			}
		}
		state[p] = 2
		order = append(order, p)
		return nil
	}
	for _, name := range slices.Sorted(slices.Values(wanted)) {
		name = strings.ReplaceAll(name, "-", "_")
		p, ok := byName[name]
		if !ok {
			if !builtin[name] {
				unknown = append(unknown, name)
			}
			continue
		}
		if err := visit(p, nil); err != nil {
			return nil, nil, err
		}
	}
	return order, unknown, nil
}

// moduleEntries runs depmod over the unpacked kernel package (which ships
// no modules.dep), and returns initramfs entries for the wanted modules,
// their dependencies and a modules.dep that lists just those.
func moduleEntries(ctx context.Context, root, kver string, wanted []string) ([]cpio.Entry, error) {
	if _, err := command(ctx, "", "depmod", "-b", root, kver); err != nil {
		return nil, fmt.Errorf("%w (depmod is in Debian's kmod package)", err)
	}
	dir := filepath.Join(root, "lib", "modules", kver)
	depData, err := os.ReadFile(filepath.Join(dir, "modules.dep"))
	if err != nil {
		return nil, err
	}
	deps, err := parseModulesDep(depData)
	if err != nil {
		return nil, err
	}
	builtin := map[string]bool{}
	if b, err := os.ReadFile(filepath.Join(dir, "modules.builtin")); err == nil {
		for _, p := range strings.Fields(string(b)) {
			builtin[moduleName(p)] = true
		}
	}
	order, unknown, err := resolveModules(deps, builtin, wanted)
	if err != nil {
		return nil, err
	}
	if len(unknown) > 0 {
		fmt.Fprintf(os.Stderr, "vmimage: kernel %s has no module %s; skipped\n", kver, strings.Join(unknown, ", "))
	}
	var entries []cpio.Entry
	var dep strings.Builder
	for _, p := range order {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			return nil, err
		}
		entries = append(entries, cpio.Entry{Path: path.Join("lib/modules", kver, p), Kind: cpio.File, Mode: 0o644, Data: stripSignature(data)})
		fmt.Fprintf(&dep, "%s:", p)
		for _, d := range deps[p] {
			fmt.Fprintf(&dep, " %s", d)
		}
		dep.WriteByte('\n')
	}
	entries = append(entries, cpio.Entry{Path: path.Join("lib/modules", kver, "modules.dep"), Kind: cpio.File, Mode: 0o644, Data: []byte(dep.String())})
	return entries, nil
}

// sigMagic ends a signed kernel module: the module, its PKCS#7 signature,
// a 12-byte struct module_signature whose last four bytes are the
// signature's length (big-endian), then this.
const sigMagic = "~Module signature appended~\n"

// stripSignature returns a module without its appended signature. The
// kernel then loads it without checking one (the guest does not enforce
// signatures), which saves the hashing and RSA work of every load: under
// emulation that is a large part of the boot.
func stripSignature(data []byte) []byte {
	if !bytes.HasSuffix(data, []byte(sigMagic)) {
		return data
	}
	end := len(data) - len(sigMagic)
	if end < 12 {
		return data
	}
	info := data[end-12 : end]
	sigLen := int(binary.BigEndian.Uint32(info[8:]))
	body := end - 12 - sigLen - int(info[3]) - int(info[4])
	if body <= 0 {
		return data
	}
	return data[:body]
}

package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// newNetns makes a network namespace that outlives any process by
// bind-mounting it at path, with its loopback up. The namespace is made
// on a thread of its own that returns to the agent's namespace; should
// that fail, the thread is left locked, and Go ends it with its
// goroutine, so no other code ever runs in the wrong namespace.
func newNetns(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return fmt.Errorf("create netns file: %w", err)
	}
	f.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open the agent's netns: %w", err)
			return
		}
		defer func() { _ = orig.Close() }()
		ns, err := netns.New()
		if err != nil {
			// netns.New unshares before it fails to open the result:
			// the thread may be in a new namespace.
			_ = netns.Set(orig)
			errc <- fmt.Errorf("create netns: %w", err)
			return
		}
		_ = ns.Close()
		src := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
		merr := unix.Mount(src, path, "none", unix.MS_BIND, "")
		if err := netns.Set(orig); err != nil {
			errc <- fmt.Errorf("return to the agent's netns: %w", err)
			return
		}
		runtime.UnlockOSThread()
		if merr != nil {
			errc <- fmt.Errorf("bind netns to %s: %w", path, merr)
			return
		}
		errc <- nil
	}()
	if err := <-errc; err != nil {
		_ = os.Remove(path)
		return err
	}
	if err := inNetns(path, func(h *netlink.Handle) error {
		lo, err := h.LinkByName("lo")
		if err != nil {
			return err
		}
		return h.LinkSetUp(lo)
	}); err != nil {
		_ = removeNetns(path)
		return fmt.Errorf("bring loopback up: %w", err)
	}
	return nil
}

// removeNetns unmounts and deletes a namespace made by newNetns; the
// kernel frees it, and the veth ends in it, once no process is left in
// it. A missing path is fine.
func removeNetns(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount netns %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove netns %s: %w", path, err)
	}
	return nil
}

// inNetns runs fn with a netlink handle on the namespace at path.
func inNetns(path string, fn func(h *netlink.Handle) error) error {
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("open netns %s: %w", path, err)
	}
	defer func() { _ = ns.Close() }()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", path, err)
	}
	defer h.Close()
	return fn(h)
}

// ensureBridge makes bridge name with gw as its address, and brings it
// up; an existing one is reused.
func ensureBridge(name string, gw netip.Addr, subnet netip.Prefix) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if !errors.As(err, &nf) {
			return fmt.Errorf("find bridge %s: %w", name, err)
		}
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
		if err := netlink.LinkAdd(br); err != nil {
			return fmt.Errorf("create bridge %s: %w", name, err)
		}
		if l, err = netlink.LinkByName(name); err != nil {
			return fmt.Errorf("find bridge %s: %w", name, err)
		}
	} else if l.Type() != "bridge" {
		return fmt.Errorf("interface %s exists and is not a bridge: remove it (ip link del %s)", name, name)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: gw.AsSlice(), Mask: net.CIDRMask(subnet.Bits(), 32)}}
	if err := netlink.AddrReplace(l, addr); err != nil {
		return fmt.Errorf("set address %s on bridge %s: %w", gw, name, err)
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return fmt.Errorf("bring bridge %s up: %w", name, err)
	}
	return nil
}

// deleteLink removes interface name; a missing one is fine.
func deleteLink(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("find %s: %w", name, err)
	}
	// A veth whose peer's namespace is going away may go between the
	// lookup and the delete: the kernel removed it, as asked.
	if err := netlink.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}

// addVeth makes a veth pair whose host end is on the bridge and whose
// other end is Inside in the namespace at nsPath, with its address and,
// for the first network, the default route. On error the pair is gone.
func addVeth(nsPath string, v vethSpec) (retErr error) {
	br, err := netlink.LinkByName(v.Bridge)
	if err != nil {
		return fmt.Errorf("find bridge %s: %w", v.Bridge, err)
	}
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return fmt.Errorf("open netns %s: %w", nsPath, err)
	}
	defer func() { _ = ns.Close() }()
	veth := &netlink.Veth{
		LinkAttrs:        netlink.LinkAttrs{Name: v.Host, MasterIndex: br.Attrs().Index, MTU: br.Attrs().MTU},
		PeerName:         v.Temp,
		PeerHardwareAddr: v.MAC,
		PeerNamespace:    netlink.NsFd(int(ns)),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth %s: %w", v.Host, err)
	}
	defer func() {
		if retErr != nil {
			_ = deleteLink(v.Host)
		}
	}()
	host, err := netlink.LinkByName(v.Host)
	if err != nil {
		return fmt.Errorf("find veth %s: %w", v.Host, err)
	}
	if err := netlink.LinkSetUp(host); err != nil {
		return fmt.Errorf("bring %s up: %w", v.Host, err)
	}
	return inNetns(nsPath, func(h *netlink.Handle) error {
		l, err := h.LinkByName(v.Temp)
		if err != nil {
			return fmt.Errorf("find %s in the container: %w", v.Temp, err)
		}
		if err := h.LinkSetName(l, v.Inside); err != nil {
			return fmt.Errorf("rename %s to %s: %w", v.Temp, v.Inside, err)
		}
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: v.Addr.AsSlice(), Mask: net.CIDRMask(v.Subnet.Bits(), 32)}}
		if err := h.AddrAdd(l, addr); err != nil {
			return fmt.Errorf("set address %s on %s: %w", v.Addr, v.Inside, err)
		}
		if err := h.LinkSetUp(l); err != nil {
			return fmt.Errorf("bring %s up: %w", v.Inside, err)
		}
		if v.Gateway.IsValid() {
			r := &netlink.Route{LinkIndex: l.Attrs().Index, Gw: v.Gateway.AsSlice()}
			if err := h.RouteReplace(r); err != nil {
				return fmt.Errorf("set default route via %s: %w", v.Gateway, err)
			}
		}
		return nil
	})
}

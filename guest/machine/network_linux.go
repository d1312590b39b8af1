package machine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/vishvananda/netlink"
)

// configureNetwork brings lo up and, with a static configuration, eth0
// with its address, default route and DNS server. Without one, the
// machine has no network but its loopback.
func configureNetwork(ctx context.Context, n *StaticNet, hostname string) error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	hosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	if hostname != "" {
		hosts += "127.0.1.1\t" + hostname + "\n"
	}
	if err := os.WriteFile("/etc/hosts", []byte(hosts), 0o644); err != nil {
		return err
	}
	if n == nil {
		return nil
	}
	var eth netlink.Link
	deadline := time.Now().Add(5 * time.Second)
	for {
		if eth, err = netlink.LinkByName("eth0"); err == nil {
			break
		}
		var nf netlink.LinkNotFoundError
		if !errors.As(err, &nf) || time.Now().After(deadline) {
			return fmt.Errorf("find eth0: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: n.Addr.Addr().AsSlice(), Mask: net.CIDRMask(n.Addr.Bits(), n.Addr.Addr().BitLen())}}
	if err := netlink.AddrReplace(eth, addr); err != nil {
		return fmt.Errorf("set eth0 address %s: %w", n.Addr, err)
	}
	if err := netlink.LinkSetUp(eth); err != nil {
		return fmt.Errorf("bring eth0 up: %w", err)
	}
	if n.Gateway.IsValid() {
		route := &netlink.Route{LinkIndex: eth.Attrs().Index, Gw: n.Gateway.AsSlice()}
		if err := netlink.RouteReplace(route); err != nil {
			return fmt.Errorf("default route via %s: %w", n.Gateway, err)
		}
	}
	if n.DNS.IsValid() {
		if err := os.WriteFile("/etc/resolv.conf", []byte("nameserver "+n.DNS.String()+"\n"), 0o644); err != nil {
			return err
		}
	}
	return nil
}

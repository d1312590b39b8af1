package machine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/vishvananda/netlink"

	"github.com/skiffrun/skiff/guest/api/wire"
	"github.com/skiffrun/skiff/guest/tapfwd"
)

// resolvConf is the machine's resolver configuration.
var resolvConf = "/etc/resolv.conf"

// configureNetwork brings lo up and, with a static configuration or
// DHCP, eth0 with its address, default route and DNS server. Without
// either, the machine has no network but its loopback. A DHCP lease is
// renewed in the background until ctx ends.
func configureNetwork(ctx context.Context, n *wire.StaticNet, dhcp bool, hostname string, log *slog.Logger) error {
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
	if n == nil && !dhcp {
		return nil
	}
	eth, err := waitLink(ctx, "eth0")
	if err != nil {
		return err
	}
	if dhcp {
		return configureDHCP(ctx, eth, log)
	}
	return applyNet(eth, n)
}

// startFrameLink makes eth0 a TAP device whose frames go to the host's
// vsock port port, for a hypervisor that attaches no network device to
// a user-mode network (HCS), and forwards them until ctx ends, dialling
// again whenever the link drops. eth0 is addressed as any other.
func startFrameLink(ctx context.Context, port uint32, log *slog.Logger) error {
	dev, err := tapfwd.OpenTAP("eth0")
	if err != nil {
		return err
	}
	dial := func(context.Context) (net.Conn, error) { return dialVsock(hostCID, port) }
	go func() {
		tapfwd.Run(ctx, dev, dial, log)
		dev.Close()
	}()
	return nil
}

// waitLink returns the network interface name once the kernel has it.
func waitLink(ctx context.Context, name string) (netlink.Link, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		l, err := netlink.LinkByName(name)
		if err == nil {
			return l, nil
		}
		var nf netlink.LinkNotFoundError
		if !errors.As(err, &nf) || time.Now().After(deadline) {
			return nil, fmt.Errorf("find %s: %w", name, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// applyNet gives link the address, default route and DNS server of n.
func applyNet(link netlink.Link, n *wire.StaticNet) error {
	name := link.Attrs().Name
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: n.Addr.Addr().AsSlice(), Mask: net.CIDRMask(n.Addr.Bits(), n.Addr.Addr().BitLen())}}
	if err := netlink.AddrReplace(link, addr); err != nil {
		return fmt.Errorf("set %s address %s: %w", name, n.Addr, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("bring %s up: %w", name, err)
	}
	if n.Gateway.IsValid() {
		route := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: n.Gateway.AsSlice()}
		if err := netlink.RouteReplace(route); err != nil {
			return fmt.Errorf("default route via %s: %w", n.Gateway, err)
		}
	}
	if n.DNS.IsValid() {
		if err := os.WriteFile(resolvConf, []byte("nameserver "+n.DNS.String()+"\n"), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// configureDHCP takes link's configuration from a DHCP server (vmnet's
// NAT on macOS gives its guests addresses only that way), then renews the
// lease at half its time until ctx ends.
func configureDHCP(ctx context.Context, link netlink.Link, log *slog.Logger) error {
	name := link.Attrs().Name
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("bring %s up: %w", name, err)
	}
	c, err := nclient4.New(name, nclient4.WithTimeout(2*time.Second), nclient4.WithRetry(5))
	if err != nil {
		return fmt.Errorf("DHCP on %s: %w", name, err)
	}
	lease, err := c.Request(ctx)
	if err != nil {
		_ = c.Close()
		return fmt.Errorf("DHCP on %s: no lease: %w", name, err)
	}
	n, renew, err := leaseNet(lease.ACK)
	if err == nil {
		err = applyNet(link, n)
	}
	if err != nil {
		_ = c.Close()
		return fmt.Errorf("DHCP on %s: %w", name, err)
	}
	log.Info("DHCP lease", "interface", name, "address", n.Addr, "gateway", n.Gateway, "dns", n.DNS)
	go func() {
		defer func() { _ = c.Close() }()
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(renew):
			}
			next, err := c.Renew(ctx, lease)
			if err != nil {
				// The address stays while the server is away; the next
				// try comes a minute later.
				log.Warn("renew the DHCP lease", "interface", name, "err", err)
				renew = minLease
				continue
			}
			lease = next
			var n *wire.StaticNet
			if n, renew, err = leaseNet(lease.ACK); err == nil {
				err = applyNet(link, n)
			}
			if err != nil {
				log.Warn("apply the renewed DHCP lease", "interface", name, "err", err)
			}
		}
	}()
	return nil
}

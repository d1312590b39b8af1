//go:build e2e && linux

package machine

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// TestDHCP gives a network namespace's interface its address, route and
// DNS server from a real DHCP server on the other end of a veth pair, as
// the machine does on vmnet's NAT.
func TestDHCP(t *testing.T) {
	if os.Geteuid() != 0 {
		unmet(t, "needs root: it creates a network namespace and a veth pair")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	host, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	suffix := strconv.Itoa(os.Getpid() % 100000)
	guest, err := netns.New() // also switches this thread into it
	if err != nil {
		t.Fatal(err)
	}
	defer guest.Close()
	if err := netns.Set(host); err != nil {
		t.Fatal(err)
	}

	hostEnd, guestEnd := "skdh"+suffix, "skdg"+suffix
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: hostEnd}, PeerName: guestEnd}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = netlink.LinkDel(veth) })
	hl, err := netlink.LinkByName(hostEnd)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.AddrAdd(hl, &netlink.Addr{IPNet: &net.IPNet{IP: net.IPv4(10, 213, 7, 1), Mask: net.CIDRMask(24, 32)}}); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(hl); err != nil {
		t.Fatal(err)
	}
	gl, err := netlink.LinkByName(guestEnd)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetNsFd(gl, int(guest)); err != nil {
		t.Fatal(err)
	}

	srv, err := server4.NewServer(hostEnd, nil, func(conn net.PacketConn, peer net.Addr, m *dhcpv4.DHCPv4) {
		typ := dhcpv4.MessageTypeOffer
		if m.MessageType() == dhcpv4.MessageTypeRequest {
			typ = dhcpv4.MessageTypeAck
		}
		reply, err := dhcpv4.NewReplyFromRequest(m,
			dhcpv4.WithMessageType(typ),
			dhcpv4.WithYourIP(net.IPv4(10, 213, 7, 50)),
			dhcpv4.WithServerIP(net.IPv4(10, 213, 7, 1)),
			dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IPv4(10, 213, 7, 1))),
			dhcpv4.WithNetmask(net.CIDRMask(24, 32)),
			dhcpv4.WithRouter(net.IPv4(10, 213, 7, 1)),
			dhcpv4.WithDNS(net.IPv4(10, 213, 7, 53)),
			dhcpv4.WithLeaseTime(3600),
		)
		if err == nil {
			_, _ = conn.WriteTo(reply.ToBytes(), peer)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve() }()
	t.Cleanup(func() { _ = srv.Close() })

	resolvConf = filepath.Join(t.TempDir(), "resolv.conf")
	if err := netns.Set(guest); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = netns.Set(host) }()
	link, err := netlink.LinkByName(guestEnd)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := configureDHCP(ctx, link, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
	if err != nil || len(addrs) != 1 || addrs[0].IPNet.String() != "10.213.7.50/24" {
		t.Errorf("addresses after DHCP: %v (%v), want 10.213.7.50/24", addrs, err)
	}
	routes, err := netlink.RouteList(link, netlink.FAMILY_V4)
	var gw string
	for _, r := range routes {
		if r.Dst == nil || r.Dst.IP.IsUnspecified() {
			gw = r.Gw.String()
		}
	}
	if err != nil || gw != "10.213.7.1" {
		t.Errorf("default route via %q (%v), want 10.213.7.1", gw, err)
	}
	if b, err := os.ReadFile(resolvConf); err != nil || string(b) != "nameserver 10.213.7.53\n" {
		t.Errorf("resolv.conf = %q (%v)", b, err)
	}
}

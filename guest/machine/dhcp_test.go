package machine

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/skiffrun/skiff/guest/api/wire"
)

func ack(t *testing.T, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	m, err := dhcpv4.New(append([]dhcpv4.Modifier{dhcpv4.WithMessageType(dhcpv4.MessageTypeAck)}, mods...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLeaseNet(t *testing.T) {
	m := ack(t,
		dhcpv4.WithYourIP(net.IPv4(192, 168, 64, 7)),
		dhcpv4.WithNetmask(net.CIDRMask(24, 32)),
		dhcpv4.WithRouter(net.IPv4(10, 9, 9, 9), net.IPv4(192, 168, 64, 1)),
		dhcpv4.WithDNS(net.IPv4(192, 168, 64, 1)),
		dhcpv4.WithLeaseTime(3600),
	)
	n, renew, err := leaseNet(m)
	if err != nil {
		t.Fatal(err)
	}
	want := wire.StaticNet{Addr: netip.MustParsePrefix("192.168.64.7/24"), Gateway: netip.MustParseAddr("192.168.64.1"), DNS: netip.MustParseAddr("192.168.64.1")}
	if *n != want {
		t.Errorf("leaseNet = %+v, want %+v (a router outside the subnet is skipped)", *n, want)
	}
	if renew != 30*time.Minute {
		t.Errorf("renew after %v, want half the lease", renew)
	}

	// A short lease is renewed no more than once a minute; no mask means /24.
	n, renew, err = leaseNet(ack(t, dhcpv4.WithYourIP(net.IPv4(10, 0, 0, 5)), dhcpv4.WithLeaseTime(10)))
	if err != nil || n.Addr.String() != "10.0.0.5/24" || renew != minLease || n.Gateway.IsValid() {
		t.Errorf("leaseNet(short lease) = %+v, %v, %v", n, renew, err)
	}

	for name, m := range map[string]*dhcpv4.DHCPv4{
		"no address":  ack(t),
		"broadcast":   ack(t, dhcpv4.WithYourIP(net.IPv4bcast)),
		"bad netmask": ack(t, dhcpv4.WithYourIP(net.IPv4(10, 0, 0, 5)), dhcpv4.WithNetmask(net.IPMask{255, 0, 255, 0})),
	} {
		if _, _, err := leaseNet(m); err == nil {
			t.Errorf("%s: leaseNet accepted it", name)
		}
	}
	if _, _, err := leaseNet(nil); err == nil {
		t.Error("leaseNet(nil) accepted it")
	}
}

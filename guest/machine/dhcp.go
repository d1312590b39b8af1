package machine

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/skiffrun/skiff/guest/api/wire"
)

// minLease bounds how often a lease is renewed, whatever the server says.
const minLease = time.Minute

// leaseNet turns a DHCP server's acknowledgement into eth0's
// configuration, and says when to renew it (half the lease, as RFC 2131
// has clients do).
func leaseNet(ack *dhcpv4.DHCPv4) (*wire.StaticNet, time.Duration, error) {
	if ack == nil {
		return nil, 0, errors.New("no DHCP acknowledgement")
	}
	ip, ok := netip.AddrFromSlice(ack.YourIPAddr.To4())
	if !ok || !ip.IsGlobalUnicast() {
		return nil, 0, fmt.Errorf("DHCP server offered no usable address (%v)", ack.YourIPAddr)
	}
	mask := ack.SubnetMask()
	bits := 24
	if mask != nil {
		ones, size := mask.Size()
		if size != 32 || ones == 0 {
			return nil, 0, fmt.Errorf("DHCP server sent a bad subnet mask %v", mask)
		}
		bits = ones
	}
	n := &wire.StaticNet{Addr: netip.PrefixFrom(ip, bits)}
	for _, r := range ack.Router() {
		if gw, ok := netip.AddrFromSlice(r.To4()); ok && n.Addr.Masked().Contains(gw) {
			n.Gateway = gw
			break
		}
	}
	for _, d := range ack.DNS() {
		if dns, ok := netip.AddrFromSlice(d.To4()); ok && !dns.IsUnspecified() {
			n.DNS = dns
			break
		}
	}
	renew := ack.IPAddressLeaseTime(0) / 2
	if renew < minLease {
		renew = minLease
	}
	return n, renew, nil
}

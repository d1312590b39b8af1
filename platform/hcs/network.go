package hcs

import (
	"fmt"
	"net/netip"

	"github.com/skiffrun/skiff/platform"
)

// The NAT network skiff's machines share on a Windows host: created in
// HNS on first start and kept, like Docker's "nat"; each machine gets an
// endpoint in it for as long as it runs.
const (
	natNetworkName = "skiff"
	// natSubnet stays clear of the container networks the agent makes in
	// the machine (172.30.0.0/16, then 10.100.0.0/16 and up).
	natSubnet  = "192.168.241.0/24"
	natGateway = "192.168.241.1"
)

// endpointConfig is what the guest needs to know of its HNS endpoint.
type endpointConfig struct {
	IP      string
	Prefix  uint8
	Gateway string
	DNS     []string
}

// guestNetwork turns the endpoint HNS assigned into the guest's static
// configuration. Without a DNS server of its own the guest asks the
// gateway, where WinNAT's DNS proxy answers.
func guestNetwork(c endpointConfig) (platform.Network, error) {
	ip, err := netip.ParseAddr(c.IP)
	if err != nil || !ip.Is4() {
		return platform.Network{}, fmt.Errorf("hcs: the network endpoint has no IPv4 address (%q)", c.IP)
	}
	pfx, err := ip.Prefix(int(c.Prefix))
	if err != nil || c.Prefix == 0 || c.Prefix > 30 {
		return platform.Network{}, fmt.Errorf("hcs: the network endpoint's prefix length %d does not fit a network with a gateway", c.Prefix)
	}
	gw, err := netip.ParseAddr(c.Gateway)
	if err != nil || !gw.Is4() || !pfx.Contains(gw) || gw == ip {
		return platform.Network{}, fmt.Errorf("hcs: the network endpoint's gateway %q is not an IPv4 address in %s", c.Gateway, pfx)
	}
	dns := gw
	for _, s := range c.DNS {
		if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
			dns = a
			break
		}
	}
	return platform.Network{
		Mode:    platform.NetworkNAT,
		Address: netip.PrefixFrom(ip, int(c.Prefix)).String(),
		Gateway: gw.String(),
		DNS:     dns.String(),
	}, nil
}

package network

import (
	"fmt"
	"net/netip"

	"github.com/containerd/errdefs"
)

// pool is the address range of one network: its subnet and gateway, and
// the addresses handed out, by container id.
type pool struct {
	Subnet  netip.Prefix          `json:"subnet"`
	Gateway netip.Addr            `json:"gateway"`
	Leases  map[string]netip.Addr `json:"leases,omitempty"`
}

func newPool(subnet netip.Prefix, gateway netip.Addr) (*pool, error) {
	subnet = subnet.Masked()
	if !subnet.Addr().Is4() || subnet.Bits() > 30 || subnet.Bits() < 8 {
		return nil, fmt.Errorf("subnet %s: use an IPv4 subnet from /8 to /30: %w", subnet, errdefs.ErrInvalidArgument)
	}
	if !gateway.IsValid() {
		gateway = subnet.Addr().Next()
	}
	if !subnet.Contains(gateway) || gateway == subnet.Addr() || gateway == lastAddr(subnet) {
		return nil, fmt.Errorf("gateway %s is not a host address of subnet %s: %w", gateway, subnet, errdefs.ErrInvalidArgument)
	}
	return &pool{Subnet: subnet, Gateway: gateway, Leases: map[string]netip.Addr{}}, nil
}

// lastAddr is the broadcast address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := (uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// lease returns id's address, allocating the lowest free one the first
// time. The same id keeps its address for as long as it holds the lease.
func (p *pool) lease(id string) (netip.Addr, error) {
	if a, ok := p.Leases[id]; ok {
		return a, nil
	}
	used := make(map[netip.Addr]bool, len(p.Leases)+1)
	used[p.Gateway] = true
	for _, a := range p.Leases {
		used[a] = true
	}
	last := lastAddr(p.Subnet)
	for a := p.Subnet.Addr().Next(); a.IsValid() && a != last; a = a.Next() {
		if !used[a] {
			if p.Leases == nil {
				p.Leases = map[string]netip.Addr{}
			}
			p.Leases[id] = a
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("no free address left in %s: remove containers from the network or create one with a larger --subnet: %w", p.Subnet, errdefs.ErrUnavailable)
}

// release frees id's address; releasing twice is fine.
func (p *pool) release(id string) { delete(p.Leases, id) }

// overlaps reports whether two prefixes share any address.
func overlaps(a, b netip.Prefix) bool { return a.Overlaps(b) }

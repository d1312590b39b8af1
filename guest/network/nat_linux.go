package network

import (
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// applyNAT replaces skiff's nftables table with one that masquerades each
// network's traffic leaving through any other interface, and keeps
// internal networks from leaving at all. The table is skiff's own: no
// other table or rule is read or touched. With no networks the table is
// deleted. The replacement is one netlink batch, so traffic never sees a
// half-built table.
func applyNAT(table string, nets []natNet) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("open nftables: %w", err)
	}
	defer func() { _ = c.CloseLasting() }()
	t := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: table}
	existing, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return fmt.Errorf("list nftables tables: %w", err)
	}
	for _, e := range existing {
		if e.Name == table {
			c.DelTable(t)
		}
	}
	if len(nets) > 0 {
		c.AddTable(t)
		post := c.AddChain(&nftables.Chain{
			Name: "postrouting", Table: t, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource,
		})
		accept := nftables.ChainPolicyAccept
		fwd := c.AddChain(&nftables.Chain{
			Name: "forward", Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &accept,
		})
		for _, n := range nets {
			if n.Internal {
				c.AddRule(&nftables.Rule{Table: t, Chain: fwd, Exprs: leaving(n, &expr.Verdict{Kind: expr.VerdictDrop})})
				c.AddRule(&nftables.Rule{Table: t, Chain: fwd, Exprs: entering(n, &expr.Verdict{Kind: expr.VerdictDrop})})
				continue
			}
			c.AddRule(&nftables.Rule{Table: t, Chain: post, Exprs: masquerade(n)})
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("write nftables table %s: %w", table, err)
	}
	return nil
}

// masquerade is "ip saddr SUBNET oifname != BRIDGE masquerade".
func masquerade(n natNet) []expr.Any {
	return append(fromSubnet(n.Subnet), append(ifname(expr.MetaKeyOIFNAME, expr.CmpOpNeq, n.Bridge), &expr.Masq{})...)
}

// leaving is "iifname BRIDGE oifname != BRIDGE VERDICT".
func leaving(n natNet, v expr.Any) []expr.Any {
	e := ifname(expr.MetaKeyIIFNAME, expr.CmpOpEq, n.Bridge)
	e = append(e, ifname(expr.MetaKeyOIFNAME, expr.CmpOpNeq, n.Bridge)...)
	return append(e, v)
}

// entering is "oifname BRIDGE iifname != BRIDGE VERDICT".
func entering(n natNet, v expr.Any) []expr.Any {
	e := ifname(expr.MetaKeyOIFNAME, expr.CmpOpEq, n.Bridge)
	e = append(e, ifname(expr.MetaKeyIIFNAME, expr.CmpOpNeq, n.Bridge)...)
	return append(e, v)
}

func fromSubnet(p netip.Prefix) []expr.Any {
	mask := net.CIDRMask(p.Bits(), 32)
	addr := p.Masked().Addr().As4()
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: addr[:]},
	}
}

func ifname(key expr.MetaKey, op expr.CmpOp, name string) []expr.Any {
	b := make([]byte, 16)
	copy(b, name)
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: b},
	}
}

// enableForwarding turns on IPv4 forwarding, without which nothing leaves
// a bridge for the uplink.
func enableForwarding() error {
	const p = "/proc/sys/net/ipv4/ip_forward"
	if b, err := os.ReadFile(p); err == nil && len(b) > 0 && b[0] == '1' {
		return nil
	}
	if err := os.WriteFile(p, []byte("1\n"), 0o644); err != nil {
		return fmt.Errorf("enable IPv4 forwarding: %w", err)
	}
	return nil
}

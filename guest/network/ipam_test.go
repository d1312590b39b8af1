package network

import (
	"net/netip"
	"testing"
)

func TestPoolLeases(t *testing.T) {
	p, err := newPool(netip.MustParsePrefix("10.9.0.0/29"), netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Gateway != netip.MustParseAddr("10.9.0.1") {
		t.Fatalf("gateway %s, want 10.9.0.1", p.Gateway)
	}
	// A /29 has .2 to .6 for containers: the gateway is .1, .7 broadcast.
	want := []string{"10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6"}
	for i, w := range want {
		a, err := p.lease(string(rune('a' + i)))
		if err != nil {
			t.Fatalf("lease %d: %v", i, err)
		}
		if a.String() != w {
			t.Fatalf("lease %d = %s, want %s", i, a, w)
		}
	}
	if _, err := p.lease("full"); err == nil {
		t.Fatal("lease in a full pool succeeded")
	}
	if a, _ := p.lease("b"); a.String() != "10.9.0.3" {
		t.Fatalf("second lease of b = %s, want its first address 10.9.0.3", a)
	}
	p.release("b")
	p.release("b")
	if a, err := p.lease("new"); err != nil || a.String() != "10.9.0.3" {
		t.Fatalf("lease after release = %s, %v; want the freed 10.9.0.3", a, err)
	}
}

func TestNewPoolRejects(t *testing.T) {
	for _, tc := range []struct{ name, subnet, gw string }{
		{"ipv6", "fd00::/64", ""},
		{"too small", "10.0.0.0/31", ""},
		{"gateway outside", "10.0.0.0/24", "10.0.1.1"},
		{"gateway is network", "10.0.0.0/24", "10.0.0.0"},
		{"gateway is broadcast", "10.0.0.0/24", "10.0.0.255"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gw netip.Addr
			if tc.gw != "" {
				gw = netip.MustParseAddr(tc.gw)
			}
			if _, err := newPool(netip.MustParsePrefix(tc.subnet), gw); err == nil {
				t.Fatalf("newPool(%s, %s) succeeded", tc.subnet, tc.gw)
			}
		})
	}
}

func TestPoolSurvivesSave(t *testing.T) {
	dir := t.TempDir()
	s := &store{dir: dir}
	n := &record{ID: "0123456789abcdef", Name: "web", Driver: "bridge", Bridge: "skiff-01234567"}
	p, _ := newPool(netip.MustParsePrefix("10.9.1.0/24"), netip.Addr{})
	n.Pool = p
	a, _ := n.Pool.lease("c1")
	if err := s.save(n); err != nil {
		t.Fatal(err)
	}
	got, err := s.loadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Pool.Leases["c1"] != a {
		t.Fatalf("after reload: %+v, want c1 at %s", got, a)
	}
	if b, _ := got[0].Pool.lease("c2"); b == a {
		t.Fatalf("reloaded pool gave c2 the address of c1 (%s)", a)
	}
}

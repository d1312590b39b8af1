package network

import (
	"net/netip"
	"strings"
	"testing"
)

func TestHostsFile(t *testing.T) {
	self := hostEntry{Addr: netip.MustParseAddr("10.1.0.2"), Names: []string{"abc123"}}
	peers := []hostEntry{
		{Addr: netip.MustParseAddr("10.1.0.4"), Names: []string{"web", "frontend"}},
		{Addr: netip.MustParseAddr("10.1.0.3"), Names: []string{"db"}},
	}
	got := string(hostsFile(self, []string{"gw:host-gateway", "api:192.0.2.7"}, netip.MustParseAddr("10.1.0.1"), peers))
	for _, want := range []string{
		"127.0.0.1\tlocalhost\n",
		"10.1.0.2\tabc123\n",
		"10.1.0.1\tgw\n",
		"192.0.2.7\tapi\n",
		"10.1.0.3\tdb\n10.1.0.4\tweb frontend\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("hosts file lacks %q:\n%s", want, got)
		}
	}
	// Without a network, host-gateway has nothing to mean.
	if got := string(hostsFile(hostEntry{}, []string{"gw:host-gateway"}, netip.Addr{}, nil)); strings.Contains(got, "gw") {
		t.Errorf("host-gateway without a gateway was written:\n%s", got)
	}
}

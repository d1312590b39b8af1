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
		"10.1.0.1\thost.docker.internal host.skiff.internal\n",
		"10.1.0.3\tdb\n10.1.0.4\tweb frontend\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("hosts file lacks %q:\n%s", want, got)
		}
	}
	// Without a network, host-gateway has nothing to mean.
	if got := string(hostsFile(hostEntry{}, []string{"gw:host-gateway"}, netip.Addr{}, nil)); strings.Contains(got, "gw") || strings.Contains(got, "host.docker.internal") {
		t.Errorf("host-gateway without a gateway was written:\n%s", got)
	}
}

func TestHostsFileAddHostWins(t *testing.T) {
	// Resolvers take the first line that names a host: the user's
	// --add-host host.docker.internal:IP comes before skiff's.
	got := string(HostsFile([]string{"host.docker.internal:192.0.2.9"}, netip.MustParseAddr("192.168.127.254")))
	user := strings.Index(got, "192.0.2.9\thost.docker.internal\n")
	own := strings.Index(got, "192.168.127.254\thost.docker.internal host.skiff.internal\n")
	if user < 0 || own < 0 || user > own {
		t.Errorf("hosts file:\n%s", got)
	}
}

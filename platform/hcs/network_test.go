package hcs

import (
	"strings"
	"testing"

	"github.com/skiffrun/skiff/platform"
)

func TestGuestNetwork(t *testing.T) {
	tests := []struct {
		name string
		in   endpointConfig
		want platform.Network
		err  string
	}{
		{"dns from the endpoint", endpointConfig{IP: "192.168.241.7", Prefix: 24, Gateway: "192.168.241.1", DNS: []string{"fe80::1", "192.168.1.1"}},
			platform.Network{Mode: platform.NetworkNAT, Address: "192.168.241.7/24", Gateway: "192.168.241.1", DNS: "192.168.1.1"}, ""},
		{"dns through the gateway", endpointConfig{IP: "192.168.241.7", Prefix: 24, Gateway: "192.168.241.1"},
			platform.Network{Mode: platform.NetworkNAT, Address: "192.168.241.7/24", Gateway: "192.168.241.1", DNS: "192.168.241.1"}, ""},
		{"no address", endpointConfig{Prefix: 24, Gateway: "192.168.241.1"}, platform.Network{}, "no IPv4 address"},
		{"IPv6 address", endpointConfig{IP: "fd00::7", Prefix: 64, Gateway: "fd00::1"}, platform.Network{}, "no IPv4 address"},
		{"no prefix", endpointConfig{IP: "192.168.241.7", Gateway: "192.168.241.1"}, platform.Network{}, "prefix length 0"},
		{"gateway elsewhere", endpointConfig{IP: "192.168.241.7", Prefix: 24, Gateway: "10.0.0.1"}, platform.Network{}, "not an IPv4 address in 192.168.241.0/24"},
		{"gateway is the guest", endpointConfig{IP: "192.168.241.7", Prefix: 24, Gateway: "192.168.241.7"}, platform.Network{}, "gateway"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := guestNetwork(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			spec := platform.MachineSpec{Network: got}
			if err := spec.Validate(); err != nil && strings.Contains(err.Error(), "network") {
				t.Errorf("platform rejects the network: %v", err)
			}
		})
	}
}

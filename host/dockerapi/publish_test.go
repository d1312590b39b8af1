package dockerapi

import (
	"net/netip"
	"testing"

	"github.com/moby/moby/api/types/network"
)

func TestPublishSpec(t *testing.T) {
	p := network.MustParsePort("8080/tcp")
	tests := []struct {
		b    network.PortBinding
		want string
	}{
		{network.PortBinding{}, "8080/tcp"},
		{network.PortBinding{HostPort: "0"}, "8080/tcp"},
		{network.PortBinding{HostPort: "9000"}, "9000:8080/tcp"},
		{network.PortBinding{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "0"}, "127.0.0.1::8080/tcp"},
		{network.PortBinding{HostIP: netip.MustParseAddr("::1"), HostPort: "9000"}, "[::1]:9000:8080/tcp"},
	}
	for _, tc := range tests {
		if got := publishSpec(p, tc.b); got != tc.want {
			t.Errorf("publishSpec(%+v) = %q, want %q", tc.b, got, tc.want)
		}
	}
}

package usernet

import (
	"context"
	"net"
	"path/filepath"
	"testing"

	"github.com/skiffrun/skiff/platform"
)

func TestConfiguration(t *testing.T) {
	c, err := Configuration(platform.UserNetwork("/m"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Subnet != "192.168.127.0/24" || c.GatewayIP != "192.168.127.1" {
		t.Errorf("subnet %s gateway %s", c.Subnet, c.GatewayIP)
	}
	// The host-loopback address answers ARP and is translated to the
	// host's 127.0.0.1.
	if len(c.GatewayVirtualIPs) != 1 || c.GatewayVirtualIPs[0] != "192.168.127.254" || c.NAT["192.168.127.254"] != "127.0.0.1" {
		t.Errorf("host loopback: virtual IPs %v, NAT %v", c.GatewayVirtualIPs, c.NAT)
	}
	names := map[string]string{}
	for _, z := range c.DNS {
		for _, r := range z.Records {
			names[r.Name+"."+z.Name] = r.IP.String()
		}
	}
	for _, n := range []string{"host.docker.internal.", "host.skiff.internal."} {
		if names[n] != "192.168.127.254" {
			t.Errorf("DNS %s = %q, want the host-loopback address", n, names[n])
		}
	}
}

func TestConfigurationRefuses(t *testing.T) {
	n := platform.UserNetwork("/m")
	n.HostLoopback = ""
	if _, err := Configuration(n); err == nil {
		t.Error("a network without a host-loopback address was accepted")
	}
	if _, err := Listen(context.Background(), platform.UserNAT()); err == nil {
		t.Error("Listen accepted a NAT network")
	}
}

func TestListenAndClose(t *testing.T) {
	dir := t.TempDir()
	n := platform.UserNetwork(dir)
	n.Link.Datagram = platform.UserDatagram(dir)
	s, err := Listen(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("unix", n.Link.Stream)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s.Close()
	if _, err := net.Dial("unix", filepath.Join(dir, "net.sock")); err == nil {
		t.Error("the stream socket still accepts after Close")
	}
}

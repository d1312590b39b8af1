package usernet

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"path/filepath"
	"slices"
	"testing"
	"time"

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
	// The guest asks for the gateway's MAC and the stack answers, so it
	// is reading this link when it closes: Close must end the link, not
	// wait for the VM to.
	guestMAC := []byte{0x02, 0, 0, 0, 0, 1}
	arp := slices.Concat(
		bytes.Repeat([]byte{0xff}, 6), guestMAC, []byte{0x08, 0x06}, // Ethernet, ARP
		[]byte{0, 1, 8, 0, 6, 4, 0, 1}, guestMAC, []byte{192, 168, 127, 2}, // a request from the guest
		make([]byte, 6), []byte{192, 168, 127, 1}, // for the gateway
	)
	if _, err := c.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(arp))), arp...)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		t.Fatalf("no answer to the guest's ARP request: %v", err)
	}
	if _, err := io.ReadFull(c, make([]byte, binary.BigEndian.Uint32(hdr[:]))); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() {
		s.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waits for a link the VM still holds")
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Errorf("the link did not end with Close: %v", err)
	}
	if _, err := net.Dial("unix", filepath.Join(dir, "net.sock")); err == nil {
		t.Error("the stream socket still accepts after Close")
	}
}

package platform

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/skiffrun/skiff/guest/api/wire"
)

// GuestArgs are the skiff.* kernel command line arguments that tell the
// agent how the host built its machine (see wire.BootConfig for the
// keys): the buses the driver put its devices on, where its channel to
// the host is, which disk holds its data, what to mount, how its network
// looks, the time and its name. Drivers put their own arguments
// (console, panic, clock) first and spec.KernelArgs last. now is the
// host's time at boot.
func GuestArgs(s MachineSpec, now time.Time, buses ...string) ([]string, error) {
	c, err := bootConfig(s, now)
	if err != nil {
		return nil, err
	}
	c.Buses = buses
	return c.Args()
}

// GuestConfig is what GuestArgs writes, for a driver that adds keys of
// its own (the Rosetta share on vz) before it calls Args.
func GuestConfig(s MachineSpec, now time.Time, buses ...string) (wire.BootConfig, error) {
	c, err := bootConfig(s, now)
	c.Buses = buses
	return c, err
}

// bootConfig is what s tells the agent at boot.
func bootConfig(s MachineSpec, now time.Time) (wire.BootConfig, error) {
	c := wire.BootConfig{Time: now, Hostname: s.Hostname, Debug: s.Debug}
	switch {
	case s.Agent.VsockPort != 0:
		c.Agent = wire.Transport{Kind: wire.TransportVsock, Port: s.Agent.VsockPort}
	case s.Agent.SerialPort != "":
		c.Agent = wire.Transport{Kind: wire.TransportSerial, Name: s.Agent.SerialPort}
	}
	if s.Disk.Path != "" && s.Disk.Device != "" {
		c.Disk = s.Disk.Device
	}
	for _, sh := range s.Shares {
		c.Shares = append(c.Shares, wire.Share{Tag: sh.Tag, FSType: string(sh.Type), ReadOnly: sh.ReadOnly, Path: sh.GuestPath})
	}
	switch s.Network.Mode {
	case NetworkNAT, NetworkUser:
		var n wire.StaticNet
		var err error
		if n.Addr, err = netip.ParsePrefix(s.Network.Address); err != nil {
			return c, fmt.Errorf("network address: %w", err)
		}
		if n.Gateway, err = netip.ParseAddr(s.Network.Gateway); err != nil {
			return c, fmt.Errorf("network gateway: %w", err)
		}
		if n.DNS, err = netip.ParseAddr(s.Network.DNS); err != nil {
			return c, fmt.Errorf("network DNS server: %w", err)
		}
		c.Net = &n
		if s.Network.Mode == NetworkUser {
			// 0 unless the driver relays the guest's frames from vsock.
			c.NetVsockPort = s.Network.Link.VsockPort
		}
		if s.Network.HostLoopback != "" {
			if c.HostLoopback, err = netip.ParseAddr(s.Network.HostLoopback); err != nil {
				return c, fmt.Errorf("network host loopback address: %w", err)
			}
		}
	case NetworkDHCP:
		c.DHCP = true
	}
	if c.Hostname == "" {
		c.Hostname = s.Name
	}
	return c, nil
}

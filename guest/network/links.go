package network

import (
	"net"
	"net/netip"
)

// vethSpec describes one container interface.
type vethSpec struct {
	Host, Temp, Inside string
	Bridge             string
	MAC                net.HardwareAddr
	Addr               netip.Addr
	Subnet             netip.Prefix
	// Gateway, when valid, becomes the namespace's default route.
	Gateway netip.Addr
}

// natNet is what the NAT table needs of one network whose bridge is up.
type natNet struct {
	Bridge   string
	Subnet   netip.Prefix
	Internal bool
}

package portfwd

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"strconv"

	"github.com/containerd/errdefs"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// DefaultHostIP is where a published port listens when it names no
// address (-p 8080:80, -P): the host's loopback, so that nothing is
// reachable from the network unless the user asks with 0.0.0.0: (docker's
// default is 0.0.0.0). Every side that fills in or prints the default
// uses this.
const DefaultHostIP = "127.0.0.1"

// HostAddr is the address binding b listens on, "127.0.0.1:8080" or
// "[::1]:8080", with DefaultHostIP for a binding that names none.
func HostAddr(b *apiv1.PortBinding) string {
	ip := b.HostIp
	if ip == "" {
		ip = DefaultHostIP
	}
	return net.JoinHostPort(ip, strconv.Itoa(int(b.HostPort)))
}

// Validate reports a binding that cannot be published: an unknown
// protocol, a port out of range, a host address that is not an IP. The
// error is errdefs' invalid argument.
func Validate(b *apiv1.PortBinding) error {
	var err error
	switch {
	case b == nil:
		err = errors.New("no port binding")
	case b.Protocol != "tcp" && b.Protocol != "udp":
		err = fmt.Errorf("protocol %q: want tcp or udp", b.Protocol)
	case b.ContainerPort < 1 || b.ContainerPort > 65535:
		err = fmt.Errorf("container port %d: want 1 to 65535", b.ContainerPort)
	case b.HostPort > 65535:
		err = fmt.Errorf("host port %d: want 0 (any free port) to 65535", b.HostPort)
	case b.HostIp != "":
		if _, perr := netip.ParseAddr(b.HostIp); perr != nil {
			err = fmt.Errorf("host address %q is not an IP address", b.HostIp)
		}
	}
	if err != nil {
		return fmt.Errorf("publish a port: %w: %w", err, errdefs.ErrInvalidArgument)
	}
	return nil
}

// inUse explains a port that cannot be bound, and what to do about it.
// It is errdefs' conflict, which crosses gRPC and comes back as one.
func inUse(b *apiv1.PortBinding, err error) error {
	if errors.Is(err, fs.ErrPermission) && b.HostPort < 1024 {
		// An ordinary user's host daemon (the QEMU machine run without
		// root) may not bind the privileged ports.
		return fmt.Errorf("publish %s/%s: %w: ports below 1024 need root here; publish on 1024 or above (-p %d:%d): %w",
			HostAddr(b), b.Protocol, err, 8000+b.ContainerPort%1000, b.ContainerPort, errdefs.ErrConflict)
	}
	return fmt.Errorf("publish %s/%s: %w: free the port, or publish on another (-p OTHER:%d): %w",
		HostAddr(b), b.Protocol, err, b.ContainerPort, errdefs.ErrConflict)
}

// Check reports whether the fixed host ports of ports can be bound now,
// so that create can refuse a port another program holds. A host port of
// 0 (any free one) always can.
func Check(ports []*apiv1.PortBinding) error {
	for _, b := range ports {
		if err := Validate(b); err != nil {
			return err
		}
		if b.HostPort == 0 {
			continue
		}
		var err error
		if b.Protocol == "udp" {
			var c net.PacketConn
			if c, err = net.ListenPacket("udp", HostAddr(b)); err == nil {
				_ = c.Close()
			}
		} else {
			var ln net.Listener
			if ln, err = net.Listen("tcp", HostAddr(b)); err == nil {
				ln.Close()
			}
		}
		if err != nil {
			return inUse(b, err)
		}
	}
	return nil
}

// Package usernet is a machine's uplink as a user-mode TCP/IP stack in
// the host daemon (gvisor-tap-vsock's virtual network): the VM's network
// device sends its Ethernet frames to the stack over a unix socket, and
// the stack makes each connection the guest opens as an ordinary socket
// of the host process, so the host's routes, VPN, proxy settings and
// sleep and wake apply as to any program. It answers DNS at the gateway
// from the host's resolver, and forwards what the guest sends to the
// network's host-loopback address to the host's 127.0.0.1. Booting the
// VM and wiring its device to the sockets are left to the drivers.
package usernet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"os"
	"sync"

	"github.com/containers/gvisor-tap-vsock/pkg/types"
	"github.com/containers/gvisor-tap-vsock/pkg/virtualnetwork"
	"github.com/sirupsen/logrus"

	"github.com/skiffrun/skiff/platform"
)

// gatewayMAC is the stack's own Ethernet address on the network.
const gatewayMAC = "5a:94:ef:e4:0c:dd"

// mtu is the network's MTU, the virtio-net default the guest keeps.
const mtu = 1500

// Stack is a running user-mode network.
type Stack struct {
	vn     *virtualnetwork.VirtualNetwork
	stream net.Listener
	dgram  *net.UnixConn
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Configuration is the stack's configuration for network n: n's subnet,
// its gateway (which also answers DNS, with host.docker.internal and
// host.skiff.internal as the host-loopback address), and the
// host-loopback address translated to the host's 127.0.0.1.
func Configuration(n platform.Network) (*types.Configuration, error) {
	pfx, err := netip.ParsePrefix(n.Address)
	if err != nil {
		return nil, fmt.Errorf("user network address %q: %w", n.Address, err)
	}
	gw, err := netip.ParseAddr(n.Gateway)
	if err != nil {
		return nil, fmt.Errorf("user network gateway %q: %w", n.Gateway, err)
	}
	host, err := netip.ParseAddr(n.HostLoopback)
	if err != nil {
		return nil, fmt.Errorf("user network host loopback address %q: %w", n.HostLoopback, err)
	}
	hostIP, gwIP := net.IP(host.AsSlice()), net.IP(gw.AsSlice())
	records := []types.Record{{Name: "host", IP: hostIP}, {Name: "gateway", IP: gwIP}}
	return &types.Configuration{
		MTU:               mtu,
		Subnet:            pfx.Masked().String(),
		GatewayIP:         gw.String(),
		GatewayMacAddress: gatewayMAC,
		GatewayVirtualIPs: []string{host.String()},
		NAT:               map[string]string{host.String(): "127.0.0.1"},
		DNS: []types.Zone{
			{Name: "docker.internal.", Records: records},
			{Name: "skiff.internal.", Records: records},
		},
		Protocol: types.QemuProtocol,
	}, nil
}

// Listen starts the stack of network n and listens on its link's
// sockets: the stream socket for QEMU's stream netdev and relayed vsock
// connections, the datagram socket for vz's file-handle attachment. It
// serves until Close.
func Listen(ctx context.Context, n platform.Network) (_ *Stack, err error) {
	if n.Mode != platform.NetworkUser {
		return nil, fmt.Errorf("usernet: network mode %q is not a user-mode network", n.Mode)
	}
	cfg, err := Configuration(n)
	if err != nil {
		return nil, err
	}
	quietLibrary()
	vn, err := virtualnetwork.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("start the user-mode network: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Stack{vn: vn, cancel: cancel}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	_ = os.Remove(n.Link.Stream)
	if s.stream, err = net.Listen("unix", n.Link.Stream); err != nil {
		return nil, fmt.Errorf("user-mode network: listen on %s: %w", n.Link.Stream, err)
	}
	if err := os.Chmod(n.Link.Stream, 0o600); err != nil {
		return nil, fmt.Errorf("user-mode network: restrict %s: %w", n.Link.Stream, err)
	}
	if n.Link.Datagram != "" {
		if s.dgram, err = listenDatagram(n.Link.Datagram); err != nil {
			return nil, err
		}
	}
	s.wg.Go(func() { s.acceptStreams(ctx) })
	if s.dgram != nil {
		s.wg.Go(func() { s.acceptDatagrams(ctx) })
	}
	return s, nil
}

// acceptStreams connects each VM that dials the stream socket to the
// network. A QEMU that restarts dials again.
func (s *Stack) acceptStreams(ctx context.Context) {
	for {
		c, err := s.stream.Accept()
		if err != nil {
			return
		}
		s.wg.Go(func() {
			defer c.Close()
			// The switch reads the link until it fails, whatever ctx
			// says: Close ends it by closing the link.
			defer context.AfterFunc(ctx, func() { _ = c.Close() })()
			if err := s.vn.AcceptQemu(ctx, c); err != nil && ctx.Err() == nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				log.Printf("skiff: user-mode network: %v", err)
			}
		})
	}
}

// Close stops the stack and removes its sockets; connections the guest
// made through it end.
func (s *Stack) Close() {
	s.cancel()
	if s.stream != nil {
		_ = s.stream.Close()
	}
	if s.dgram != nil {
		_ = s.dgram.Close()
		_ = os.Remove(s.dgram.LocalAddr().String())
	}
	s.wg.Wait()
}

// BytesSent and BytesReceived count what the stack sent to and received
// from the guest.
func (s *Stack) BytesSent() uint64     { return s.vn.BytesSent() }
func (s *Stack) BytesReceived() uint64 { return s.vn.BytesReceived() }

var quietOnce sync.Once

// quietLibrary keeps the stack's per-connection logging (a refused
// connection of the guest is logged as an error) out of the daemon's log.
func quietLibrary() {
	quietOnce.Do(func() { logrus.SetLevel(logrus.FatalLevel) })
}

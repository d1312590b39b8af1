// Package publish is the host side of published ports for a machine in a
// VM: it serves the HostPorts service the agent calls (over the session,
// through host/hostsvc), listens on the host ports the agent asks for,
// and carries each accepted TCP connection, or each UDP client's flow,
// into the machine on a session stream of its own that starts with a
// forward header; the agent connects it to the container. The listening
// itself is guest/api/portfwd's; owning the session, host/machine's.
package publish

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"github.com/containerd/errdefs"
	"google.golang.org/grpc"

	"github.com/skiffrun/skiff/guest/api/portfwd"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/api/wire"
	"github.com/skiffrun/skiff/host/hostsvc"
)

// Register serves HostPorts on each session of reg: a session's ports
// are its own, and closed when it ends (the agent publishes them again
// on the next).
func Register(reg *hostsvc.Registry) {
	reg.RegisterGRPC(func(s *hostsvc.Session, r grpc.ServiceRegistrar) {
		f := New(s.Open)
		s.OnClose(f.Close)
		apiv1.RegisterHostPortsServer(r, &server{f: f})
	})
}

// Open opens a new stream into the machine.
type Open func() (net.Conn, error)

// Forwarder listens on published ports for one agent session. Its
// methods are safe for concurrent use.
type Forwarder struct {
	open  Open
	ports portfwd.Ports
}

// New returns a Forwarder that opens streams with open.
func New(open Open) *Forwarder {
	return &Forwarder{open: open}
}

// Check reports whether the fixed host ports of ports are free.
func (f *Forwarder) Check(ports []*apiv1.PortBinding) error { return f.ports.Check(ports) }

// Publish listens on ports for container id, forwarding to target (the
// container's address in the machine). The ports id had are closed
// first; on error nothing of id stays bound.
func (f *Forwarder) Publish(id, target string, ports []*apiv1.PortBinding) ([]*apiv1.PortBinding, error) {
	return f.ports.Publish(id, ports, func(_ context.Context, b *apiv1.PortBinding) (net.Conn, error) {
		to := net.JoinHostPort(target, strconv.Itoa(int(b.ContainerPort)))
		return portfwd.DialForward(f.open, wire.Forward{Proto: b.Protocol, Target: to})
	})
}

// Unpublish closes id's ports.
func (f *Forwarder) Unpublish(id string) { f.ports.Unpublish(id) }

// Close closes every port.
func (f *Forwarder) Close() { f.ports.Close() }

// server is HostPorts on a Forwarder. It returns errdefs errors; the
// session's gRPC server makes them statuses.
type server struct {
	apiv1.UnimplementedHostPortsServer
	f *Forwarder
}

func (s *server) Check(_ context.Context, req *apiv1.CheckHostPortsRequest) (*apiv1.CheckHostPortsResponse, error) {
	if err := s.f.Check(req.GetPorts()); err != nil {
		return nil, err
	}
	return &apiv1.CheckHostPortsResponse{}, nil
}

func (s *server) Publish(ctx context.Context, req *apiv1.PublishHostPortsRequest) (*apiv1.PublishHostPortsResponse, error) {
	if req.GetContainerId() == "" {
		return nil, fmt.Errorf("publish ports: no container id: %w", errdefs.ErrInvalidArgument)
	}
	// The target comes from the machine: an address of it, never a name
	// the host would resolve.
	if _, err := netip.ParseAddr(req.GetTarget()); err != nil {
		return nil, fmt.Errorf("publish ports of %s: target %q is not an IP address: %w", req.GetContainerId(), req.GetTarget(), errdefs.ErrInvalidArgument)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	bound, err := s.f.Publish(req.GetContainerId(), req.GetTarget(), req.GetPorts())
	if err != nil {
		return nil, err
	}
	return &apiv1.PublishHostPortsResponse{Ports: bound}, nil
}

func (s *server) Unpublish(_ context.Context, req *apiv1.UnpublishHostPortsRequest) (*apiv1.UnpublishHostPortsResponse, error) {
	s.f.Unpublish(req.GetContainerId())
	return &apiv1.UnpublishHostPortsResponse{}, nil
}

// Package publish is the host side of published ports for a machine in a
// VM: it listens on the host ports the agent asks for (over the agent's
// HostPorts stream) and carries each accepted TCP connection, or each UDP
// client's flow, into the machine on a stream of its own that starts
// with a forward header; the agent connects it to the container. Owning
// the session is host/machine's.
package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"

	"github.com/skiffrun/skiff/guest/api/portfwd"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/api/wire"
)

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
// container's address in the machine). On error nothing stays bound.
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

// Serve answers the agent's port requests on stream until it ends, then
// closes every port.
func (f *Forwarder) Serve(ctx context.Context, stream apiv1.HostPorts_ServeClient) error {
	defer f.Close()
	for {
		req, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return err
		}
		reply := &apiv1.HostPortReply{Seq: req.Seq}
		switch req.Op {
		case "publish":
			bound, err := f.Publish(req.ContainerId, req.Target, req.Ports)
			if err != nil {
				reply.Error = err.Error()
			}
			reply.Ports = bound
		case "check":
			if err := f.Check(req.Ports); err != nil {
				reply.Error = err.Error()
			}
		case "unpublish":
			f.Unpublish(req.ContainerId)
			continue
		default:
			reply.Error = fmt.Sprintf("unknown port request %q", req.Op)
		}
		if err := stream.Send(reply); err != nil {
			return err
		}
	}
}

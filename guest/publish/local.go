package publish

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strconv"

	"github.com/skiffrun/skiff/guest/api/portfwd"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// Local publishes ports by listening on them in the agent's own network
// namespace: the host's, with the native driver.
type Local struct {
	ports portfwd.Ports
}

// NewLocal returns a Local publisher.
func NewLocal(log *slog.Logger) *Local {
	l := &Local{}
	l.ports.Log = log
	return l
}

// CheckPorts reports whether the fixed host ports of ports can be bound
// now, so that create can refuse a port another program holds.
func (l *Local) CheckPorts(ports []*apiv1.PortBinding) error { return l.ports.Check(ports) }

// Publish listens on each port and proxies to target. TCP connections to
// it are made from inside the container's network namespace (netns),
// where the container's own address is local: the bytes then cross that
// namespace's loopback, not the veth, the bridge and their netfilter
// hooks. The container still sees a connection to its address.
func (l *Local) Publish(_ context.Context, id string, target netip.Addr, netns string, ports []*apiv1.PortBinding) ([]*apiv1.PortBinding, error) {
	return l.ports.Publish(id, ports, func(ctx context.Context, b *apiv1.PortBinding) (net.Conn, error) {
		to := net.JoinHostPort(target.String(), strconv.Itoa(int(b.ContainerPort)))
		if b.Protocol == "udp" {
			var d net.Dialer
			return d.DialContext(ctx, "udp", to)
		}
		return dialTCP(ctx, netns, to)
	})
}

// Unpublish closes id's listeners and their connections.
func (l *Local) Unpublish(id string) { l.ports.Unpublish(id) }

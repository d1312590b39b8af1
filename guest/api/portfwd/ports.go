package portfwd

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"time"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// BindingDial connects one connection or UDP flow of binding b to its
// destination (see DialFunc).
type BindingDial func(ctx context.Context, b *apiv1.PortBinding) (net.Conn, error)

// Ports are the published ports of containers, by container id. The zero
// value is ready to use; its methods are safe for concurrent use.
type Ports struct {
	// Log, when set, hears of connections that could not be carried.
	Log *slog.Logger
	// UDPIdle is how long a UDP flow lives idle; 0 is UDPIdle.
	UDPIdle time.Duration

	mu   sync.Mutex
	byID map[string][]*Listener
}

// Check reports whether the fixed host ports of ports can be bound now.
func (p *Ports) Check(ports []*apiv1.PortBinding) error { return Check(ports) }

// Publish listens on each of ports for container id, carrying what
// arrives through dial, and returns the bindings as bound (a host port
// of 0 chosen). The ports id had before are closed first. On error
// nothing of id stays bound: a port in use is errdefs' conflict, a
// binding that makes no sense its invalid argument.
func (p *Ports) Publish(id string, ports []*apiv1.PortBinding, dial BindingDial) (_ []*apiv1.PortBinding, retErr error) {
	p.Unpublish(id)
	for _, b := range ports {
		if err := Validate(b); err != nil {
			return nil, err
		}
	}
	var ls []*Listener
	defer func() {
		if retErr != nil {
			for _, l := range ls {
				_ = l.Close()
			}
		}
	}()
	bound := make([]*apiv1.PortBinding, 0, len(ports))
	for _, b := range ports {
		d := func(ctx context.Context) (net.Conn, error) { return dial(ctx, b) }
		var l *Listener
		var err error
		if b.Protocol == "udp" {
			l, err = ListenUDP(HostAddr(b), d, p.UDPIdle)
		} else {
			l, err = ListenTCP(HostAddr(b), d, p.Log)
		}
		if err != nil {
			return nil, inUse(b, err)
		}
		ls = append(ls, l)
		bound = append(bound, &apiv1.PortBinding{HostIp: b.HostIp, HostPort: uint32(l.Port()), ContainerPort: b.ContainerPort, Protocol: b.Protocol})
	}
	p.mu.Lock()
	if p.byID == nil {
		p.byID = map[string][]*Listener{}
	}
	old := p.byID[id]
	p.byID[id] = ls
	p.mu.Unlock()
	// A Publish of the same id that ran alongside this one lost.
	for _, l := range old {
		_ = l.Close()
	}
	return bound, nil
}

// Unpublish closes id's ports and their connections; an unknown id is
// fine. Once it returns, the ports are free.
func (p *Ports) Unpublish(id string) {
	p.mu.Lock()
	ls := p.byID[id]
	delete(p.byID, id)
	p.mu.Unlock()
	for _, l := range ls {
		_ = l.Close()
	}
}

// Close closes every port.
func (p *Ports) Close() {
	p.mu.Lock()
	all := p.byID
	p.byID = nil
	p.mu.Unlock()
	for _, ls := range all {
		for _, l := range ls {
			_ = l.Close()
		}
	}
}

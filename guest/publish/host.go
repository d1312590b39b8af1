package publish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/containerd/errdefs"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/hostlink"
)

// callWait bounds a call to the host daemon whose caller set no deadline.
const callWait = 30 * time.Second

// Host publishes ports through the host daemon of a VM: a client of the
// HostPorts service the daemon serves (host/publish), which listens on
// the host and forwards each connection to the agent on a session stream
// (portfwd.ServeForward). It remembers every publication in force, so
// that those made while no daemon is connected (containers restarted at
// boot), and all of them after the daemon connects again, are published
// when a session comes up (Connect).
type Host struct {
	log *slog.Logger

	mu     sync.Mutex
	client apiv1.HostPortsClient // nil while no daemon is connected
	active map[string]*publication
}

type publication struct {
	target netip.Addr
	asked  []*apiv1.PortBinding
	bound  []*apiv1.PortBinding
}

// NewHost returns a Host publisher with no daemon connected yet.
func NewHost(log *slog.Logger) *Host {
	return &Host{log: log, active: map[string]*publication{}}
}

// Connect uses the daemon reached through dial for as long as ctx lasts
// (one session), publishing again every publication in force. It is
// what guest/machine has hostlink call for each session.
func (h *Host) Connect(ctx context.Context, dial hostlink.Dial) {
	cc, err := hostlink.NewClient(dial)
	if err != nil {
		h.log.Error("connect to the host daemon's port service", "err", err)
		return
	}
	defer func() { _ = cc.Close() }()
	client := apiv1.NewHostPortsClient(cc)
	h.mu.Lock()
	h.client = client
	type pending struct {
		id string
		p  *publication
	}
	var again []pending
	for id, p := range h.active {
		again = append(again, pending{id, p})
	}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		if h.client == client {
			h.client = nil
		}
		h.mu.Unlock()
	}()
	for _, r := range again {
		bound, err := h.publish(ctx, client, r.id, r.p)
		if err != nil {
			if ctx.Err() == nil {
				h.log.Error("publish ports again on the host", "id", r.id, "err", err)
			}
			continue
		}
		h.mu.Lock()
		if h.active[r.id] == r.p {
			r.p.bound = bound
		}
		h.mu.Unlock()
	}
	<-ctx.Done()
}

// current is the client of the daemon connected now, or nil.
func (h *Host) current() apiv1.HostPortsClient {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.client
}

// bounded is ctx with callWait as its deadline when it has none.
func bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, callWait)
}

// gone reports an error after which the daemon is taken for not
// connected: the publication waits for the next session.
func gone(err error) bool { return errdefs.IsUnavailable(err) }

func (h *Host) publish(ctx context.Context, client apiv1.HostPortsClient, id string, p *publication) ([]*apiv1.PortBinding, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	resp, err := client.Publish(ctx, &apiv1.PublishHostPortsRequest{ContainerId: id, Target: p.target.String(), Ports: p.asked})
	if err != nil {
		return nil, err
	}
	return resp.Ports, nil
}

// CheckPorts asks the daemon whether the fixed host ports are free; with
// no daemon connected it cannot know, and says nothing.
func (h *Host) CheckPorts(ports []*apiv1.PortBinding) error {
	client := h.current()
	if client == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), callWait)
	defer cancel()
	if _, err := client.Check(ctx, &apiv1.CheckHostPortsRequest{Ports: ports}); err != nil && !gone(err) {
		return err
	}
	return nil
}

// Publish has the daemon listen on ports for id, within ctx's deadline.
// With no daemon connected the ports are published when one connects,
// and Publish returns them as asked.
func (h *Host) Publish(ctx context.Context, id string, target netip.Addr, _ string, ports []*apiv1.PortBinding) ([]*apiv1.PortBinding, error) {
	p := &publication{target: target, asked: ports, bound: ports}
	h.mu.Lock()
	h.active[id] = p
	client := h.client
	h.mu.Unlock()
	if client == nil {
		return ports, nil
	}
	bound, err := h.publish(ctx, client, id, p)
	switch {
	case err == nil:
	case gone(err):
		return ports, nil
	default:
		h.forget(id, p)
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			// The daemon may have bound the ports as the caller gave
			// up: have it let go of them.
			uctx, cancel := context.WithTimeout(context.Background(), callWait)
			_, _ = client.Unpublish(uctx, &apiv1.UnpublishHostPortsRequest{ContainerId: id})
			cancel()
			err = fmt.Errorf("the host daemon did not publish the ports in time: %w", err)
		}
		return nil, err
	}
	h.mu.Lock()
	if h.active[id] == p {
		p.bound = bound
	}
	h.mu.Unlock()
	return bound, nil
}

// forget drops id's publication p, unless a later one replaced it.
func (h *Host) forget(id string, p *publication) {
	h.mu.Lock()
	if h.active[id] == p {
		delete(h.active, id)
	}
	h.mu.Unlock()
}

// Unpublish closes id's ports on the host, waiting for the daemon (for a
// little while) so that they are free when it returns.
func (h *Host) Unpublish(id string) {
	h.mu.Lock()
	_, had := h.active[id]
	delete(h.active, id)
	client := h.client
	h.mu.Unlock()
	if !had || client == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), callWait)
	defer cancel()
	if _, err := client.Unpublish(ctx, &apiv1.UnpublishHostPortsRequest{ContainerId: id}); err != nil && !gone(err) {
		h.log.Error("unpublish ports on the host", "id", id, "err", err)
	}
}

// BoundPorts are id's ports as the daemon bound them.
func (h *Host) BoundPorts(id string) []*apiv1.PortBinding {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p := h.active[id]; p != nil {
		return p.bound
	}
	return nil
}

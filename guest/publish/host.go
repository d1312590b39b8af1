package publish

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"google.golang.org/grpc"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// replyWait bounds how long a publish waits for the host daemon.
const replyWait = 30 * time.Second

// Host publishes ports through the host daemon of a VM, which listens on
// the host and forwards each connection to the agent on a session stream
// (ServeForward). The daemon holds a HostPorts stream; publications made
// while none is connected (containers restarted at boot) are sent when
// one connects.
type Host struct {
	apiv1.UnimplementedHostPortsServer
	log *slog.Logger

	mu      sync.Mutex
	seq     uint64
	stream  *hostStream
	active  map[string]*publication
	waiters map[uint64]chan *apiv1.HostPortReply
}

type publication struct {
	target netip.Addr
	asked  []*apiv1.PortBinding
	bound  []*apiv1.PortBinding
}

// hostStream is one daemon's stream; sends are serialized.
type hostStream struct {
	mu sync.Mutex
	s  apiv1.HostPorts_ServeServer
}

func (h *hostStream) send(r *apiv1.HostPortRequest) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.s.Send(r)
}

// NewHost returns a Host publisher.
func NewHost(log *slog.Logger) *Host {
	return &Host{log: log, active: map[string]*publication{}, waiters: map[uint64]chan *apiv1.HostPortReply{}}
}

// Register serves the HostPorts API on s.
func (h *Host) Register(s *grpc.Server) { apiv1.RegisterHostPortsServer(s, h) }

// request sends r to the daemon and, unless it is an unpublish, waits
// for its reply. ok is false when no daemon is connected.
func (h *Host) request(ctx context.Context, r *apiv1.HostPortRequest) (reply *apiv1.HostPortReply, ok bool, err error) {
	h.mu.Lock()
	st := h.stream
	if st == nil {
		h.mu.Unlock()
		return nil, false, nil
	}
	h.seq++
	r.Seq = h.seq
	ch := make(chan *apiv1.HostPortReply, 1)
	if r.Op != "unpublish" {
		h.waiters[r.Seq] = ch
	}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.waiters, r.Seq)
		h.mu.Unlock()
	}()
	if err := st.send(r); err != nil {
		return nil, false, nil
	}
	if r.Op == "unpublish" {
		return nil, true, nil
	}
	t := time.NewTimer(replyWait)
	defer t.Stop()
	select {
	case reply := <-ch:
		return reply, true, nil
	case <-ctx.Done():
		return nil, true, ctx.Err()
	case <-t.C:
		return nil, true, fmt.Errorf("the host daemon did not answer a port request in %v: %w", replyWait, errdefs.ErrUnavailable)
	}
}

// CheckPorts asks the daemon whether the fixed host ports are free.
func (h *Host) CheckPorts(ports []*apiv1.PortBinding) error {
	reply, ok, err := h.request(context.Background(), &apiv1.HostPortRequest{Op: "check", Ports: ports})
	if err != nil || !ok {
		return err
	}
	if reply.Error != "" {
		return fmt.Errorf("%s: %w", reply.Error, errdefs.ErrConflict)
	}
	return nil
}

// Publish has the daemon listen on ports for id.
func (h *Host) Publish(ctx context.Context, id string, target netip.Addr, _ string, ports []*apiv1.PortBinding) ([]*apiv1.PortBinding, error) {
	p := &publication{target: target, asked: ports, bound: ports}
	h.mu.Lock()
	h.active[id] = p
	h.mu.Unlock()
	reply, ok, err := h.request(ctx, &apiv1.HostPortRequest{Op: "publish", ContainerId: id, Target: target.String(), Ports: ports})
	if err == nil && ok && reply.Error != "" {
		err = fmt.Errorf("%s: %w", reply.Error, errdefs.ErrConflict)
	}
	if err != nil {
		h.Unpublish(id)
		return nil, err
	}
	if ok {
		h.mu.Lock()
		p.bound = reply.Ports
		h.mu.Unlock()
	}
	return p.bound, nil
}

// Unpublish closes id's ports on the host.
func (h *Host) Unpublish(id string) {
	h.mu.Lock()
	_, had := h.active[id]
	delete(h.active, id)
	h.mu.Unlock()
	if had {
		_, _, _ = h.request(context.Background(), &apiv1.HostPortRequest{Op: "unpublish", ContainerId: id})
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

// Serve is the daemon's stream: it replaces any earlier one, sends every
// publication in force, then relays replies until the daemon goes.
func (h *Host) Serve(s apiv1.HostPorts_ServeServer) error {
	st := &hostStream{s: s}
	h.mu.Lock()
	h.stream = st
	type pending struct {
		id string
		p  *publication
	}
	var resend []pending
	for id, p := range h.active {
		resend = append(resend, pending{id, p})
	}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		if h.stream == st {
			h.stream = nil
		}
		h.mu.Unlock()
	}()
	for _, r := range resend {
		go func() {
			reply, ok, err := h.request(s.Context(), &apiv1.HostPortRequest{Op: "publish", ContainerId: r.id, Target: r.p.target.String(), Ports: r.p.asked})
			switch {
			case err != nil || !ok:
			case reply.Error != "":
				h.log.Error("publish ports again on the host", "id", r.id, "err", reply.Error)
			default:
				h.mu.Lock()
				r.p.bound = reply.Ports
				h.mu.Unlock()
			}
		}()
	}
	for {
		reply, err := s.Recv()
		if err != nil {
			// The daemon went (its session ended): the next one gets
			// everything again.
			return nil
		}
		h.mu.Lock()
		ch := h.waiters[reply.Seq]
		h.mu.Unlock()
		if ch != nil {
			ch <- reply
		}
	}
}

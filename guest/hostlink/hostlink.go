// Package hostlink is the agent's way to the host daemon's services
// (host/hostsvc serves them): it opens streams towards the host on the
// session of the moment, each starting with the header that names the
// service (wire.WriteService), and makes gRPC clients of the daemon's
// typed services. guest/machine hands it each session as it comes (Up);
// services that keep something on the host for the agent, such as the
// published ports (guest/publish), hear of each new session (OnSession)
// to set it up again there. The session itself is guest/machine's.
package hostlink

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/containerd/errdefs/pkg/errgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/skiffrun/skiff/guest/api/wire"
)

// Opener is the agent's end of a session with the host (a yamux
// session): Open opens a stream to the host.
type Opener interface {
	Open() (net.Conn, error)
}

// Dial opens a stream to the host service named service (wire.Service*);
// what is read and written on it is the service's.
type Dial func(ctx context.Context, service string) (net.Conn, error)

// Link is the agent's way to the host services over whichever session is
// up. Its methods are safe for concurrent use.
type Link struct {
	mu       sync.Mutex
	cur      *session
	changed  chan struct{} // closed and replaced when cur changes
	watchers []func(context.Context, Dial)
}

type session struct {
	ctx context.Context
	o   Opener
}

// New returns a Link with no session yet.
func New() *Link { return &Link{changed: make(chan struct{})} }

// OnSession has f called, in a goroutine of its own, for each session as
// it comes up (and for the one up now), with ctx ending when the session
// does and dial opening streams on that session only.
func (l *Link) OnSession(f func(ctx context.Context, dial Dial)) {
	l.mu.Lock()
	l.watchers = append(l.watchers, f)
	cur := l.cur
	l.mu.Unlock()
	if cur != nil && cur.ctx.Err() == nil {
		go f(cur.ctx, cur.dial)
	}
}

// Up makes o the session streams are opened on until ctx ends (the
// session is over), and tells those that asked (OnSession).
func (l *Link) Up(ctx context.Context, o Opener) {
	s := &session{ctx: ctx, o: o}
	l.mu.Lock()
	l.cur = s
	close(l.changed)
	l.changed = make(chan struct{})
	watchers := append([]func(context.Context, Dial){}, l.watchers...)
	l.mu.Unlock()
	context.AfterFunc(ctx, func() {
		l.mu.Lock()
		if l.cur == s {
			l.cur = nil
			close(l.changed)
			l.changed = make(chan struct{})
		}
		l.mu.Unlock()
	})
	for _, f := range watchers {
		go f(ctx, s.dial)
	}
}

// Dial opens a stream to service on the session that is up, waiting for
// one until ctx ends.
func (l *Link) Dial(ctx context.Context, service string) (net.Conn, error) {
	for {
		l.mu.Lock()
		cur, changed := l.cur, l.changed
		l.mu.Unlock()
		if cur != nil && cur.ctx.Err() == nil {
			return cur.dial(ctx, service)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("reach host service %q: the host is not connected: %w", service, ctx.Err())
		case <-changed:
		}
	}
}

// dial opens a stream to service on s.
func (s *session) dial(ctx context.Context, service string) (net.Conn, error) {
	if err := s.ctx.Err(); err != nil {
		return nil, fmt.Errorf("reach host service %q: the session with the host ended", service)
	}
	c, err := s.o.Open()
	if err != nil {
		return nil, fmt.Errorf("reach host service %q: %w", service, err)
	}
	if d, ok := ctx.Deadline(); ok {
		_ = c.SetWriteDeadline(d)
	}
	if err := wire.WriteService(c, service); err != nil {
		c.Close()
		return nil, fmt.Errorf("reach host service %q: %w", service, err)
	}
	_ = c.SetWriteDeadline(time.Time{})
	return c, nil
}

// NewClient returns a gRPC client of the daemon's typed services
// (wire.ServiceGRPC) that connects with dial. Statuses come back as
// containerd/errdefs errors: a port in use is errdefs.ErrConflict again.
// The connection is made at the first call; opts add to the dialer's.
func NewClient(dial Dial, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	return grpc.NewClient("passthrough:///skiff-host", append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return dial(ctx, wire.ServiceGRPC)
		}),
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return errgrpc.ToNative(invoker(ctx, method, req, reply, cc, opts...))
		}),
	}, opts...)...)
}

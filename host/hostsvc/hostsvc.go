// Package hostsvc serves the host daemon's services to the agent of a VM
// over the session they share. The host opens streams to the agent (the
// agent's gRPC API, published ports' connections); for the other way the
// agent opens streams to the host, each starting with a service header
// (wire.WriteService) that names the service it wants, and Serve hands
// each such stream, from the byte after its header, to that service.
// There are two kinds:
//
//   - Typed services, on the daemon's gRPC server (wire.ServiceGRPC),
//     registered with RegisterGRPC. Each session gets a gRPC server of its
//     own, so that a service can keep what belongs to one session and let
//     go of it when the session ends: HostPorts (host/publish) listens on
//     the session's published ports and closes them with it.
//
//   - Raw byte streams by name, taken with Listen, for a protocol of its
//     own: the Docker Engine API behind the machine's /var/run/docker.sock
//     is one (wire.ServiceDocker). The listener outlives sessions, so an
//     HTTP server can serve it for the daemon's life:
//
//     l, err := reg.Listen(wire.ServiceDocker)
//     go httpServer.Serve(l)
//
// A new service is registered on the daemon's Registry before its first
// session (host/machine's hostServices) and its name, when raw, is added
// to guest/api/wire beside ServiceDocker; the agent reaches it through
// guest/hostlink. Owning the session, and dialling it again, is
// host/machine's.
package hostsvc

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/skiffrun/skiff/guest/api/errstatus"
	"github.com/skiffrun/skiff/guest/api/wire"
)

// headerWait bounds how long a new stream may take to name its service.
const headerWait = 10 * time.Second

// Mux is the daemon's end of a session with the agent (a yamux session).
type Mux interface {
	// Open opens a stream to the agent.
	Open() (net.Conn, error)
	// Accept returns the next stream the agent opened; it fails once the
	// session has ended.
	Accept() (net.Conn, error)
}

// Session is one session with the agent, as its gRPC services see it.
type Session struct {
	ctx context.Context
	mux Mux

	mu      sync.Mutex
	onClose []func()
}

// Context ends when the session does.
func (s *Session) Context() context.Context { return s.ctx }

// Open opens a stream to the agent on this session.
func (s *Session) Open() (net.Conn, error) { return s.mux.Open() }

// OnClose has f called when the session has ended, after its gRPC server
// has stopped and before Serve returns (and so before the next session's
// services start). Functions run in the reverse order of their adding.
func (s *Session) OnClose(f func()) {
	s.mu.Lock()
	s.onClose = append(s.onClose, f)
	s.mu.Unlock()
}

func (s *Session) close() {
	s.mu.Lock()
	fs := s.onClose
	s.onClose = nil
	s.mu.Unlock()
	for _, f := range slices.Backward(fs) {
		f()
	}
}

// Registry is the host daemon's set of services, for every session it
// has with the agent. Its methods are safe for concurrent use.
type Registry struct {
	mu   sync.Mutex
	grpc []func(*Session, grpc.ServiceRegistrar)
	raw  map[string]*listener
	// last is closed when the latest Serve has finished.
	last chan struct{}
}

// New returns a Registry with no services.
func New() *Registry { return &Registry{raw: map[string]*listener{}} }

// RegisterGRPC has register called for each session, before the session
// serves anything, to register services on its gRPC server. Services
// return plain errors in containerd/errdefs categories: the server turns
// them into statuses (guest/api/errstatus), as the agent's does.
func (r *Registry) RegisterGRPC(register func(*Session, grpc.ServiceRegistrar)) {
	r.mu.Lock()
	r.grpc = append(r.grpc, register)
	r.mu.Unlock()
}

// Listen returns the streams the agent opens to the raw service name, of
// every session, from the byte after their header. Closing the listener
// takes the service away.
func (r *Registry) Listen(name string) (net.Listener, error) {
	if _, err := wire.AppendService(nil, name); err != nil {
		return nil, err
	}
	if name == wire.ServiceGRPC {
		return nil, fmt.Errorf("host service %q is the gRPC server's: register with RegisterGRPC", name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.raw[name]; ok {
		return nil, fmt.Errorf("host service %q is taken", name)
	}
	l := newListener(name)
	l.onClose = func() {
		r.mu.Lock()
		if r.raw[name] == l {
			delete(r.raw, name)
		}
		r.mu.Unlock()
	}
	r.raw[name] = l
	return l, nil
}

// Serve serves the registered services on the streams the agent opens on
// mux, until the session ends. A Serve waits for the previous one to
// have finished, so that one session's services have let go of what they
// held (the host ports) before the next one's start.
func (r *Registry) Serve(mux Mux) {
	r.mu.Lock()
	prev := r.last
	done := make(chan struct{})
	r.last = done
	regs := slices.Clone(r.grpc)
	r.mu.Unlock()
	defer close(done)
	if prev != nil {
		<-prev
	}

	ctx, cancel := context.WithCancel(context.Background())
	sess := &Session{ctx: ctx, mux: mux}
	srv := grpc.NewServer(errstatus.ServerOptions()...)
	for _, register := range regs {
		register(sess, srv)
	}
	gl := newListener(wire.ServiceGRPC)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(gl)
	}()
	var wg sync.WaitGroup
	for {
		c, err := mux.Accept()
		if err != nil {
			break
		}
		wg.Go(func() { r.dispatch(ctx, c, gl) })
	}
	cancel()
	srv.Stop()
	_ = gl.Close()
	<-served
	wg.Wait()
	sess.close()
}

// dispatch reads the header of stream c and hands c to its service.
func (r *Registry) dispatch(ctx context.Context, c net.Conn, gl *listener) {
	_ = c.SetReadDeadline(time.Now().Add(headerWait))
	name, err := wire.ReadService(c)
	_ = c.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return
	}
	l := gl
	if name != wire.ServiceGRPC {
		r.mu.Lock()
		l = r.raw[name]
		r.mu.Unlock()
	}
	if l == nil || !l.deliver(ctx, c) {
		c.Close()
	}
}

// listener is a net.Listener of the streams handed to it.
type listener struct {
	name    string
	conns   chan net.Conn
	done    chan struct{}
	once    sync.Once
	onClose func()
}

func newListener(name string) *listener {
	return &listener{name: name, conns: make(chan net.Conn), done: make(chan struct{})}
}

// deliver hands c to Accept, and reports false when the listener closed
// or ctx ended first.
func (l *listener) deliver(ctx context.Context, c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.done:
		return false
	case <-ctx.Done():
		return false
	}
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, fmt.Errorf("host service %q: %w", l.name, net.ErrClosed)
	}
}

func (l *listener) Close() error {
	l.once.Do(func() {
		close(l.done)
		if l.onClose != nil {
			l.onClose()
		}
	})
	return nil
}

func (l *listener) Addr() net.Addr { return addr(l.name) }

// addr names a host service as a listener's address.
type addr string

func (addr) Network() string  { return "skiff-host" }
func (a addr) String() string { return string(a) }

var _ net.Listener = (*listener)(nil)

// Package relay carries the CLI's connections to an agent in a VM over
// the one channel the VM offers: it speaks the handshake that opens the
// channel, runs a yamux client session on it, and copies each accepted
// connection, byte for byte, into a new stream of that session. What the
// bytes mean (gRPC) is left to the two ends; making the channel, to the
// platform driver; owning the VM, to host/machine.
package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/skiffrun/skiff/guest/api/portfwd"
	"github.com/skiffrun/skiff/guest/api/wire"
)

// helloEvery is how often the hello is repeated until the agent answers.
const helloEvery = 500 * time.Millisecond

// Handshake opens conn as a channel to the agent (wire.Hello, answered by
// wire.OK), waiting for the agent's answer until ctx ends. The hello is
// repeated until answered: over a virtio-serial port the guest does not
// see a quick reconnection, and its old session may swallow the first
// hello (the next one then finds the agent listening for it).
func Handshake(ctx context.Context, conn net.Conn) error {
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		if stop() {
			_ = conn.SetDeadline(time.Time{})
		}
	}()
	hello := []byte(wire.Hello)
	if _, err := conn.Write(hello); err != nil {
		return handshakeErr(ctx, err)
	}
	// The repeats stop before Handshake returns, so that no hello can
	// follow the first yamux frame.
	answered := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(answered)
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(helloEvery)
		defer t.Stop()
		for {
			select {
			case <-answered:
				return
			case <-t.C:
				if _, err := conn.Write(hello); err != nil {
					return
				}
			}
		}
	}()
	if err := wire.ReadOK(conn); err != nil {
		return handshakeErr(ctx, err)
	}
	return nil
}

func handshakeErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("handshake with the agent: %w", ctx.Err())
	}
	return fmt.Errorf("handshake with the agent: %w", err)
}

// Connect does the handshake on conn and starts the host's yamux client
// session on it, with keepalives, so a dead channel is noticed.
func Connect(ctx context.Context, conn net.Conn, logw io.Writer) (*yamux.Session, error) {
	if err := Handshake(ctx, conn); err != nil {
		conn.Close()
		return nil, err
	}
	cfg := yamux.DefaultConfig()
	cfg.EnableKeepAlive = true
	cfg.KeepAliveInterval = 15 * time.Second
	// An emulated machine under load answers slowly.
	cfg.ConnectionWriteTimeout = 30 * time.Second
	cfg.LogOutput = nil
	cfg.Logger = log.New(logw, "yamux: ", log.LstdFlags)
	s, err := yamux.Client(conn, cfg)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("start session with the agent: %w", err)
	}
	return s, nil
}

// Relay hands each accepted connection to a stream of the current
// session. Sessions come and go (the channel drops, the daemon dials
// again); a connection that arrives between two waits for the next.
// Its methods are safe for concurrent use.
type Relay struct {
	mu      sync.Mutex
	session *yamux.Session
	changed chan struct{} // closed and replaced when session changes
}

// New returns a relay with no session yet.
func New() *Relay { return &Relay{changed: make(chan struct{})} }

// SetSession makes s the session new connections go to.
func (r *Relay) SetSession(s *yamux.Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.session = s
	close(r.changed)
	r.changed = make(chan struct{})
}

// Open opens a stream to the agent, waiting for a live session until ctx
// ends.
func (r *Relay) Open(ctx context.Context) (net.Conn, error) {
	for {
		r.mu.Lock()
		s, changed := r.session, r.changed
		r.mu.Unlock()
		if s != nil && !s.IsClosed() {
			st, err := s.OpenStream()
			if err == nil {
				return st, nil
			}
			if !s.IsClosed() {
				return nil, fmt.Errorf("open a stream to the agent: %w", err)
			}
		}
		var closed <-chan struct{}
		if s != nil {
			closed = s.CloseChan()
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("the agent is not connected: %w", ctx.Err())
		case <-changed:
		case <-closed:
			// Wait for the replacement.
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("the agent is not connected: %w", ctx.Err())
			case <-changed:
			}
		}
	}
}

// Serve relays every connection l accepts until l is closed. wait bounds
// how long one connection waits for a session.
func (r *Relay) Serve(l net.Listener, wait time.Duration) error {
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			st, err := r.Open(ctx)
			cancel()
			if err != nil {
				c.Close()
				return
			}
			portfwd.Pipe(c, st)
		}()
	}
}

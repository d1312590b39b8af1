package portfwd

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/skiffrun/skiff/guest/api/wire"
)

// UDPIdle is how long a UDP flow lives without a datagram either way:
// UDP has no end, so a client that stops sending is forgotten after it.
const UDPIdle = 60 * time.Second

// dialTimeout bounds one dial of a published port's destination.
const dialTimeout = 10 * time.Second

// DialFunc connects one accepted TCP connection, or opens one UDP
// client's flow, to where the port's traffic goes. For UDP each Read of
// the returned connection must yield one datagram and each Write send
// one: a connected UDP socket, or wire.DatagramConn over a stream. ctx
// bounds the dial only.
type DialFunc func(ctx context.Context) (net.Conn, error)

// Listener is one published port. Close stops it and every connection
// or flow it carries; it is safe to call more than once.
type Listener struct {
	port  int
	close func()
	once  sync.Once
}

// Port is the port the listener is bound to (the one chosen for a host
// port of 0).
func (l *Listener) Port() int { return l.port }

// Close stops listening and closes every connection or flow, waiting for
// the accept loop to end: once it returns, the port is free.
func (l *Listener) Close() error {
	l.once.Do(l.close)
	return nil
}

// tracked is the set of a listener's live connections, to close them
// with it.
type tracked struct {
	mu     sync.Mutex
	set    map[io.Closer]struct{}
	closed bool
}

// add records c, or reports false when the listener is closed already.
func (t *tracked) add(c io.Closer) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	if t.set == nil {
		t.set = map[io.Closer]struct{}{}
	}
	t.set[c] = struct{}{}
	return true
}

func (t *tracked) remove(c io.Closer) {
	t.mu.Lock()
	delete(t.set, c)
	t.mu.Unlock()
}

func (t *tracked) closeAll() {
	t.mu.Lock()
	t.closed = true
	set := t.set
	t.set = nil
	t.mu.Unlock()
	for c := range set {
		_ = c.Close()
	}
}

// ListenTCP listens on addr and carries each accepted connection to a
// connection dial makes, both ways, until both sides are done. log, when
// set, hears of failed dials at debug level.
func ListenTCP(addr string, dial DialFunc, log *slog.Logger) (*Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	var conns tracked
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				// Out of file descriptors and the like: let it pass.
				time.Sleep(10 * time.Millisecond)
				continue
			}
			if !conns.add(c) {
				c.Close()
				return
			}
			go func() {
				defer conns.remove(c)
				dctx, dcancel := context.WithTimeout(ctx, dialTimeout)
				backend, err := dial(dctx)
				dcancel()
				if err != nil {
					c.Close()
					if log != nil {
						log.Debug("published port", "addr", addr, "err", err)
					}
					return
				}
				// The backend is closed with the listener too.
				if !conns.add(backend) {
					c.Close()
					backend.Close()
					return
				}
				defer conns.remove(backend)
				Pipe(c, backend)
			}()
		}
	}()
	return &Listener{port: ln.Addr().(*net.TCPAddr).Port, close: func() {
		cancel()
		_ = ln.Close()
		<-done
		conns.closeAll()
	}}, nil
}

// Pipe copies between a and b in both directions until both sides are
// done, passing each side's end of writing on (CloseWrite where there is
// one; otherwise Close, which for a yamux stream ends only its writes),
// then closes both. Between two *net.TCPConn io.Copy splices in the
// kernel.
func Pipe(a, b net.Conn) {
	var wg sync.WaitGroup
	wg.Add(2)
	half := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		} else {
			_ = dst.Close()
		}
	}
	go half(a, b)
	go half(b, a)
	wg.Wait()
	a.Close()
	b.Close()
}

// ListenUDP listens on addr and gives each client address a flow of its
// own, opened with dial, so that replies find their way back; a flow
// ends after idle (UDPIdle when 0) without a datagram either way, or
// when its far end ends it.
func ListenUDP(addr string, dial DialFunc, idle time.Duration) (*Listener, error) {
	if idle <= 0 {
		idle = UDPIdle
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, err
	}
	u := pc.(*net.UDPConn)
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	flows := map[netip.AddrPort]*flow{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, wire.MaxDatagram)
		for {
			n, from, err := u.ReadFromUDPAddrPort(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			mu.Lock()
			f := flows[from]
			mu.Unlock()
			if f == nil {
				dctx, dcancel := context.WithTimeout(ctx, dialTimeout)
				c, err := dial(dctx)
				dcancel()
				if err != nil {
					continue
				}
				f = newFlow(c, idle)
				mu.Lock()
				flows[from] = f
				mu.Unlock()
				go func() {
					f.relay(u, from)
					mu.Lock()
					if flows[from] == f {
						delete(flows, from)
					}
					mu.Unlock()
				}()
			}
			f.touch()
			if _, err := f.c.Write(buf[:n]); err != nil && !Refused(err) {
				f.end()
			}
		}
	}()
	return &Listener{port: u.LocalAddr().(*net.UDPAddr).Port, close: func() {
		cancel()
		_ = u.Close()
		<-done
		mu.Lock()
		all := flows
		flows = map[netip.AddrPort]*flow{}
		mu.Unlock()
		for _, f := range all {
			f.end()
		}
	}}, nil
}

// flow is one UDP client's way to the destination.
type flow struct {
	c    net.Conn
	idle time.Duration

	mu    sync.Mutex
	last  time.Time
	timer *time.Timer
	once  sync.Once
}

func newFlow(c net.Conn, idle time.Duration) *flow {
	f := &flow{c: c, idle: idle, last: time.Now()}
	f.mu.Lock()
	f.timer = time.AfterFunc(idle, f.expire)
	f.mu.Unlock()
	return f
}

// touch records a datagram, either way.
func (f *flow) touch() {
	f.mu.Lock()
	f.last = time.Now()
	f.mu.Unlock()
}

// expire ends the flow once it has been idle for f.idle, or looks again
// when that time comes.
func (f *flow) expire() {
	f.mu.Lock()
	wait := f.idle - time.Since(f.last)
	if wait > 0 {
		f.timer.Reset(wait)
		f.mu.Unlock()
		return
	}
	f.mu.Unlock()
	f.end()
}

// end closes the flow's connection, which ends relay.
func (f *flow) end() {
	f.once.Do(func() {
		f.mu.Lock()
		f.timer.Stop()
		f.mu.Unlock()
		_ = f.c.Close()
	})
}

// relay sends what comes back on the flow to the client at to, until
// the flow ends.
func (f *flow) relay(u *net.UDPConn, to netip.AddrPort) {
	defer f.end()
	buf := make([]byte, wire.MaxDatagram)
	for {
		n, err := f.c.Read(buf)
		if Refused(err) {
			continue
		}
		if err != nil {
			return
		}
		f.touch()
		_, _ = u.WriteToUDPAddrPort(buf[:n], to)
	}
}

// Refused reports an ICMP port unreachable for an earlier datagram on a
// connected UDP socket (nothing listened yet): the flow goes on, as it
// would without a proxy in between.
func Refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

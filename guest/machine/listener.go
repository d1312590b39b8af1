package machine

import (
	"bufio"
	"errors"
	"net"
	"sync"

	"github.com/skiffrun/skiff/guest/api/portfwd"
	"github.com/skiffrun/skiff/guest/api/wire"
)

// sessionListener is the net.Listener the gRPC server keeps for the
// agent's life. The connection to the host comes and goes (the host
// restarts, the VM sleeps); each new session's streams are fed in with
// serve, so the server never sees its listener fail.
type sessionListener struct {
	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

func newSessionListener() *sessionListener {
	return &sessionListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

// errListenerClosed is what Accept returns after Close.
var errListenerClosed = errors.New("agent listener closed")

func (l *sessionListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, errListenerClosed
	}
}

// serve hands the streams accepted by lis to Accept until lis fails, and
// returns its error.
func (l *sessionListener) serve(lis net.Listener) error {
	for {
		c, err := lis.Accept()
		if err != nil {
			return err
		}
		go l.dispatch(c)
	}
}

// dispatch hands stream c to the gRPC server, or, when it carries a
// connection from a published host port, to guest/api/portfwd.
func (l *sessionListener) dispatch(c net.Conn) {
	br := bufio.NewReaderSize(c, 64<<10)
	fwd, err := wire.PeekForward(br)
	if err != nil {
		c.Close()
		return
	}
	if fwd {
		_ = portfwd.ServeForward(portfwd.Replay(c, br))
		return
	}
	select {
	case l.conns <- portfwd.Replay(c, br):
	case <-l.done:
		c.Close()
	}
}

func (l *sessionListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

func (l *sessionListener) Addr() net.Addr { return hostAddr{} }

// hostAddr names the far end of the agent's connection.
type hostAddr struct{}

func (hostAddr) Network() string { return "skiff" }
func (hostAddr) String() string  { return "host" }

var _ net.Listener = (*sessionListener)(nil)

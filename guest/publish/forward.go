package publish

import (
	"io"
	"net"

	"github.com/skiffrun/skiff/guest/api/wire"
)

// ServeForward carries one connection from a published host port that
// the host daemon sent on a session stream: conn reads from the stream's
// first byte, a forward header (wire.ReadForward), and ProxyTCP or
// ProxyUDP takes it from there.
func ServeForward(conn net.Conn) error {
	f, err := wire.ReadForward(conn)
	if err != nil {
		conn.Close()
		return err
	}
	if f.Proto == "udp" {
		return ProxyUDP(conn, f.Target)
	}
	return ProxyTCP(conn, f.Target)
}

// Replay returns conn reading through r, which holds bytes already
// taken from conn (by a bufio.Reader's Peek).
func Replay(conn net.Conn, r io.Reader) net.Conn { return &readerConn{Conn: conn, r: r} }

// readerConn reads through r, which holds bytes already taken from Conn.
type readerConn struct {
	net.Conn
	r io.Reader
}

func (c *readerConn) Read(b []byte) (int, error) { return c.r.Read(b) }

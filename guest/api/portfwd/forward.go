package portfwd

import (
	"io"
	"net"
	"time"

	"github.com/skiffrun/skiff/guest/api/wire"
)

// DialForward is the host daemon's end of a forwarded connection: it
// opens a session stream into the machine with open and writes f's
// header on it. For UDP the connection returned reads and writes one
// datagram at a time (wire.DatagramConn), as a DialFunc's must.
func DialForward(open func() (net.Conn, error), f wire.Forward) (net.Conn, error) {
	s, err := open()
	if err != nil {
		return nil, err
	}
	if err := wire.WriteForward(s, f); err != nil {
		s.Close()
		return nil, err
	}
	if f.Proto == "udp" {
		return wire.DatagramConn(s), nil
	}
	return s, nil
}

// ServeForward is the agent's end: it carries one connection from a
// published host port that the host daemon sent on a session stream
// (DialForward). conn reads from the stream's first byte, the forward
// header, and ProxyTCP or ProxyUDP takes it from there.
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

// ProxyTCP copies between client and a new connection to target until
// both sides are done, passing each half-close on.
func ProxyTCP(client net.Conn, target string) error {
	backend, err := net.DialTimeout("tcp", target, dialTimeout)
	if err != nil {
		client.Close()
		return err
	}
	Pipe(client, backend)
	return nil
}

// ProxyUDP carries one UDP flow framed on a stream (wire.WriteDatagram),
// both ways, to target. It ends when the stream ends or the container
// has been silent for UDPIdle; the host's side times out on its client's
// silence.
func ProxyUDP(stream net.Conn, target string) error {
	defer stream.Close()
	conn, err := net.Dial("udp", target)
	if err != nil {
		return err
	}
	defer conn.Close()
	dg := wire.DatagramConn(stream)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, wire.MaxDatagram)
		for {
			_ = conn.SetReadDeadline(time.Now().Add(UDPIdle))
			n, err := conn.Read(buf)
			if Refused(err) {
				continue
			}
			if err != nil {
				// Idle, or the socket failed: end the flow, so that the
				// host's side lets go of it too.
				_ = stream.Close()
				return
			}
			if _, err := dg.Write(buf[:n]); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, wire.MaxDatagram)
	for {
		n, err := dg.Read(buf)
		if err != nil {
			break
		}
		if _, err := conn.Write(buf[:n]); err != nil && !Refused(err) {
			break
		}
	}
	conn.Close()
	<-done
	return nil
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

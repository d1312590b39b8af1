package publish

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strconv"
)

// ForwardMagic starts a session stream that carries one connection from
// a published host port, rather than gRPC (whose streams start with the
// HTTP/2 preface, "PRI * HTTP/2.0"). After the magic come the protocol
// ('t' TCP, 'u' UDP), a 2-byte big-endian length and the target address
// ("10.1.0.2:80"); then the connection's bytes (TCP) or framed datagrams
// (UDP, see WriteDatagram). A plain stream with a short header costs
// nothing per byte, where a gRPC stream would frame and flow-control
// every chunk a second time over the session.
const ForwardMagic = "SKIFFFWD"

// maxTarget bounds the target address in a header.
const maxTarget = 256

// ServeForward carries one forwarded connection whose magic has been read
// already: it reads the rest of the header and proxies to the target.
func ServeForward(conn net.Conn, r io.Reader) error {
	proto, target, err := readHeader(r)
	if err != nil {
		conn.Close()
		return err
	}
	c := &readerConn{Conn: conn, r: r}
	if proto == 'u' {
		return ProxyUDP(c, target)
	}
	return ProxyTCP(c, target)
}

// readHeader reads the rest of a forward header: the protocol ('t' or
// 'u') and the target, a host:port.
func readHeader(r io.Reader) (byte, string, error) {
	var hdr [3]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, "", fmt.Errorf("read forward header: %w", err)
	}
	if hdr[0] != 't' && hdr[0] != 'u' {
		return 0, "", fmt.Errorf("forward header: unknown protocol %q", hdr[0])
	}
	n := int(binary.BigEndian.Uint16(hdr[1:]))
	if n == 0 || n > maxTarget {
		return 0, "", fmt.Errorf("forward header: bad target length %d", n)
	}
	target := make([]byte, n)
	if _, err := io.ReadFull(r, target); err != nil {
		return 0, "", fmt.Errorf("read forward target: %w", err)
	}
	host, port, err := net.SplitHostPort(string(target))
	if err != nil {
		return 0, "", fmt.Errorf("forward target %q: %w", target, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 || host == "" {
		return 0, "", fmt.Errorf("forward target %q: not a host and port", target)
	}
	return hdr[0], string(target), nil
}

// Replay returns conn reading through r, which holds bytes Peek took.
func Replay(conn net.Conn, r io.Reader) net.Conn { return &readerConn{Conn: conn, r: r} }

// readerConn reads through r, which holds bytes already taken from Conn.
type readerConn struct {
	net.Conn
	r io.Reader
}

func (c *readerConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// Peek reads the first len(ForwardMagic) bytes of conn and reports
// whether they are the magic; the returned reader replays them.
func Peek(conn net.Conn) (bool, *bufio.Reader, error) {
	br := bufio.NewReaderSize(conn, 64<<10)
	b, err := br.Peek(len(ForwardMagic))
	if err != nil {
		return false, br, err
	}
	if string(b) != ForwardMagic {
		return false, br, nil
	}
	_, _ = br.Discard(len(ForwardMagic))
	return true, br, nil
}

package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
)

// ForwardMagic starts a session stream, opened by the host daemon, that
// carries one connection from a published host port rather than gRPC
// (whose streams start with the HTTP/2 preface, "PRI * HTTP/2.0"). After
// the magic come the protocol ('t' TCP, 'u' UDP), a 2-byte big-endian
// length and the target address ("10.1.0.2:80"); then the connection's
// bytes (TCP) or framed datagrams (UDP, see WriteDatagram). A plain
// stream with a short header costs nothing per byte, where a gRPC stream
// would frame and flow-control every chunk a second time over the
// session.
const ForwardMagic = "SKIFFFWD"

// MaxForwardTarget bounds the target address in a forward header.
const MaxForwardTarget = 256

// Forward is the header of a forwarded connection.
type Forward struct {
	// Proto is "tcp" or "udp", as in a port binding.
	Proto string
	// Target is the container's address and port in the machine.
	Target string
}

// protoBytes are the header's protocol bytes.
var protoBytes = map[string]byte{"tcp": 't', "udp": 'u'}

// AppendForward appends f's header to b. It fails for a header that
// ReadForward would refuse.
func AppendForward(b []byte, f Forward) ([]byte, error) {
	p, ok := protoBytes[f.Proto]
	if !ok {
		return b, fmt.Errorf("forward header: unknown protocol %q", f.Proto)
	}
	if err := checkTarget(f.Target); err != nil {
		return b, err
	}
	b = append(b, ForwardMagic...)
	b = append(b, p)
	b = binary.BigEndian.AppendUint16(b, uint16(len(f.Target)))
	return append(b, f.Target...), nil
}

// WriteForward writes f's header to w in one write.
func WriteForward(w io.Writer, f Forward) error {
	hdr, err := AppendForward(make([]byte, 0, len(ForwardMagic)+3+len(f.Target)), f)
	if err != nil {
		return err
	}
	_, err = w.Write(hdr)
	return err
}

// IsForward reports whether a stream that begins with b (at least
// len(ForwardMagic) bytes of it) carries a forwarded connection.
func IsForward(b []byte) bool {
	return len(b) >= len(ForwardMagic) && string(b[:len(ForwardMagic)]) == ForwardMagic
}

// PeekForward reports whether the stream read through br begins with
// ForwardMagic, consuming nothing: a ReadForward, or the stream's other
// reader, starts from the first byte.
func PeekForward(br *bufio.Reader) (bool, error) {
	b, err := br.Peek(len(ForwardMagic))
	if err != nil {
		return false, err
	}
	return IsForward(b), nil
}

// ReadForward reads a forward header, magic first. The header comes from
// the other end of the session: its target must be a host and a port.
func ReadForward(r io.Reader) (Forward, error) {
	var hdr [len(ForwardMagic) + 3]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return Forward{}, fmt.Errorf("read forward header: %w", err)
	}
	if !IsForward(hdr[:]) {
		return Forward{}, errors.New("forward header: no magic")
	}
	var f Forward
	switch hdr[len(ForwardMagic)] {
	case 't':
		f.Proto = "tcp"
	case 'u':
		f.Proto = "udp"
	default:
		return Forward{}, fmt.Errorf("forward header: unknown protocol %q", hdr[len(ForwardMagic)])
	}
	n := int(binary.BigEndian.Uint16(hdr[len(ForwardMagic)+1:]))
	if n == 0 || n > MaxForwardTarget {
		return Forward{}, fmt.Errorf("forward header: bad target length %d", n)
	}
	target := make([]byte, n)
	if _, err := io.ReadFull(r, target); err != nil {
		return Forward{}, fmt.Errorf("read forward target: %w", err)
	}
	f.Target = string(target)
	if err := checkTarget(f.Target); err != nil {
		return Forward{}, err
	}
	return f, nil
}

// checkTarget reports a target that is not a host and a port 1-65535 of
// a length a header can carry.
func checkTarget(target string) error {
	if len(target) == 0 || len(target) > MaxForwardTarget {
		return fmt.Errorf("forward target %q: %d bytes, want 1 to %d", target, len(target), MaxForwardTarget)
	}
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		return fmt.Errorf("forward target %q: %w", target, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 || host == "" {
		return fmt.Errorf("forward target %q: not a host and port", target)
	}
	return nil
}

package wire

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
)

// MaxDatagram is the largest datagram a frame carries: a UDP payload.
const MaxDatagram = 65535

// A forwarded UDP flow (see ForwardMagic) carries each datagram, both
// ways, as a 2-byte big-endian length and the payload.

// WriteDatagram frames p on w in one write.
func WriteDatagram(w io.Writer, p []byte) error {
	if len(p) > MaxDatagram {
		return fmt.Errorf("datagram of %d bytes: more than %d", len(p), MaxDatagram)
	}
	frame := make([]byte, 2+len(p))
	binary.BigEndian.PutUint16(frame, uint16(len(p)))
	copy(frame[2:], p)
	_, err := w.Write(frame)
	return err
}

// ReadDatagram reads one framed datagram into buf; a buf of MaxDatagram
// bytes holds any. A datagram longer than buf is io.ErrShortBuffer, after
// which the stream is out of step and must be dropped.
func ReadDatagram(r io.Reader, buf []byte) (int, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, err
	}
	n := int(binary.BigEndian.Uint16(hdr[:]))
	if n > len(buf) {
		return 0, io.ErrShortBuffer
	}
	return io.ReadFull(r, buf[:n])
}

// DatagramConn is a stream seen as a datagram socket: each Write sends
// one framed datagram, each Read returns one (cut to the buffer, as UDP
// cuts a datagram too long for the reader's buffer).
func DatagramConn(c net.Conn) net.Conn { return &datagramConn{Conn: c} }

type datagramConn struct {
	net.Conn
	rmu sync.Mutex
	rb  []byte
	wmu sync.Mutex
	wb  []byte
}

func (c *datagramConn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if len(p) >= MaxDatagram {
		return ReadDatagram(c.Conn, p)
	}
	if c.rb == nil {
		c.rb = make([]byte, MaxDatagram)
	}
	n, err := ReadDatagram(c.Conn, c.rb)
	return copy(p, c.rb[:n]), err
}

func (c *datagramConn) Write(p []byte) (int, error) {
	if len(p) > MaxDatagram {
		return 0, fmt.Errorf("datagram of %d bytes: more than %d", len(p), MaxDatagram)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wb = binary.BigEndian.AppendUint16(c.wb[:0], uint16(len(p)))
	c.wb = append(c.wb, p...)
	if _, err := c.Conn.Write(c.wb); err != nil {
		return 0, err
	}
	return len(p), nil
}

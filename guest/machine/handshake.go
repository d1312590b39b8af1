package machine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
)

// The handshake that starts every connection to the host, before yamux:
// the host writes hostHello, the agent skips whatever comes before it
// (bytes of an earlier session may still be queued on a serial port) and
// answers agentHello.
var (
	hostHello  = []byte("SKIFFv1\n")
	agentHello = []byte("SKIFFok\n")
)

// handshake reads from r until it has read hostHello, then writes
// agentHello to w. It reads one byte at a time so that nothing after the
// hello is consumed. When a read fails with io.EOF, idle is called: it
// returns nil to read again (a serial port with no host yet) or an error
// to give up (a closed socket).
func handshake(ctx context.Context, r io.Reader, w io.Writer, idle func(context.Context) error) error {
	window := make([]byte, 0, len(hostHello))
	b := make([]byte, 1)
	for !bytes.Equal(window, hostHello) {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := r.Read(b)
		if n == 1 {
			if len(window) == len(hostHello) {
				window = append(window[:0], window[1:]...)
			}
			window = append(window, b[0])
			continue
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			if err := idle(ctx); err != nil {
				return err
			}
		default:
			return fmt.Errorf("read host hello: %w", err)
		}
	}
	if _, err := w.Write(agentHello); err != nil {
		return fmt.Errorf("write agent hello: %w", err)
	}
	return nil
}

// skipHellos reads r, dropping the hellos that begin it. A host repeats
// its hello until it is answered, so more may follow the one the
// handshake consumed; a yamux frame never begins with one.
type skipHellos struct {
	r    io.Reader
	buf  []byte
	done bool
}

func (s *skipHellos) Read(p []byte) (int, error) {
	for !s.done {
		k := min(len(s.buf), len(hostHello))
		switch {
		case len(s.buf) >= len(hostHello) && bytes.Equal(s.buf[:len(hostHello)], hostHello):
			s.buf = s.buf[len(hostHello):]
			continue
		case len(s.buf) > 0 && !bytes.Equal(s.buf[:k], hostHello[:k]):
			s.done = true
			continue
		}
		// What is buffered is empty or could still be a hello: read on.
		tmp := make([]byte, 4096)
		n, err := s.r.Read(tmp)
		s.buf = append(s.buf, tmp[:n]...)
		if err != nil {
			if len(s.buf) == 0 {
				return 0, err
			}
			s.done = true
		}
	}
	if len(s.buf) > 0 {
		n := copy(p, s.buf)
		s.buf = s.buf[n:]
		return n, nil
	}
	return s.r.Read(p)
}

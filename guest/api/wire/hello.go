package wire

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
)

// The hello starts every connection between the host and the agent,
// before yamux: the host writes Hello (and repeats it until answered);
// the agent skips whatever comes before it, since bytes of an earlier
// session may still be queued on a serial port, and answers OK. Stale
// bytes of one session cannot be taken for the next one's.
const (
	Hello = "SKIFFv1\n"
	OK    = "SKIFFok\n"
)

// MaxHelloNoise bounds what the host skips before the agent's OK.
const MaxHelloNoise = 1 << 20

// ErrNoOK is what ReadOK returns when MaxHelloNoise bytes hold no OK.
var ErrNoOK = errors.New("no answer in 1 MiB of output")

// ReadHello is the agent's side: it reads r until it has read Hello. It
// reads one byte at a time so that nothing after the hello is consumed.
// When a read fails with io.EOF, idle is called: it returns nil to read
// again (a serial port with no host yet) or an error to give up (a
// closed socket).
func ReadHello(ctx context.Context, r io.Reader, idle func(context.Context) error) error {
	return readUntil(ctx, r, Hello, "the host's hello", -1, idle)
}

// ReadOK is the host's side: it reads r until it has read OK, skipping
// at most MaxHelloNoise bytes (the console output of a serial port, an
// old session's frames) before it. Nothing after OK is consumed.
func ReadOK(r io.Reader) error {
	return readUntil(context.Background(), r, OK, "the agent's answer", MaxHelloNoise, nil)
}

// readUntil reads r a byte at a time until the last bytes read are
// token (what names it in errors), or limit bytes (when positive) have
// gone by.
func readUntil(ctx context.Context, r io.Reader, token, what string, limit int, idle func(context.Context) error) error {
	window := make([]byte, 0, len(token))
	b := make([]byte, 1)
	for n := 0; string(window) != token; {
		if err := ctx.Err(); err != nil {
			return err
		}
		if limit > 0 && n >= limit {
			return ErrNoOK
		}
		k, err := r.Read(b)
		if k == 1 {
			n++
			if len(window) == len(token) {
				window = append(window[:0], window[1:]...)
			}
			window = append(window, b[0])
			continue
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF) && idle != nil:
			if err := idle(ctx); err != nil {
				return err
			}
		default:
			return fmt.Errorf("read %s: %w", what, err)
		}
	}
	return nil
}

// SkipHellos returns r with the hellos that begin it dropped. A host
// repeats its hello until it is answered, so more may follow the one
// ReadHello consumed; a yamux frame never begins with one.
func SkipHellos(r io.Reader) io.Reader { return &skipHellos{r: r} }

type skipHellos struct {
	r    io.Reader
	buf  []byte
	done bool
}

func (s *skipHellos) Read(p []byte) (int, error) {
	hello := []byte(Hello)
	for !s.done {
		k := min(len(s.buf), len(hello))
		switch {
		case len(s.buf) >= len(hello) && bytes.Equal(s.buf[:len(hello)], hello):
			s.buf = s.buf[len(hello):]
			continue
		case len(s.buf) > 0 && !bytes.Equal(s.buf[:k], hello[:k]):
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

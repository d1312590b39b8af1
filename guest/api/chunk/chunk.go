// Package chunk carries a byte stream (an image archive, a build context)
// over a gRPC stream as a run of messages: a Writer cuts what is written
// into chunks of Size bytes, and a Reader reads the chunks back as one
// stream. Which message holds a chunk, and what ends the stream, are the
// caller's: each side gives the function that sends or receives one.
package chunk

import (
	"errors"
	"io"
)

// Size is the most bytes one message carries: a fraction of gRPC's 4 MiB
// message limit, and large enough that framing costs nothing.
const Size = 64 << 10

// Writer sends what is written in chunks of Size; Flush sends the last,
// shorter one. Every chunk is a slice of its own, never written again,
// since gRPC may still hold a message after Send returns. A Writer is not
// safe for concurrent use.
type Writer struct {
	send func([]byte) error
	buf  []byte
	err  error
}

// NewWriter returns a Writer that sends each chunk with send.
func NewWriter(send func([]byte) error) *Writer { return &Writer{send: send} }

// Write buffers p, sending every chunk it fills. After a failed send it
// returns that error, unchanged, and sends nothing more.
func (w *Writer) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if w.err != nil {
			return n, w.err
		}
		if w.buf == nil {
			w.buf = make([]byte, 0, Size)
		}
		m := copy(w.buf[len(w.buf):Size], p)
		w.buf = w.buf[:len(w.buf)+m]
		n += m
		p = p[m:]
		if len(w.buf) == Size {
			w.sendBuf()
		}
	}
	return n, w.err
}

// ReadFrom sends r's bytes until its end, filling each chunk from r
// directly; what is left for the last chunk waits for Flush. A read error
// is returned as r gave it.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	var n int64
	for {
		if w.err != nil {
			return n, w.err
		}
		if w.buf == nil {
			w.buf = make([]byte, 0, Size)
		}
		m, err := io.ReadFull(r, w.buf[len(w.buf):Size])
		w.buf = w.buf[:len(w.buf)+m]
		n += int64(m)
		if len(w.buf) == Size {
			w.sendBuf()
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return n, w.err
		}
		if err != nil {
			return n, err
		}
	}
}

// Flush sends what is buffered, if anything. It returns the error of the
// first failed send, if any.
func (w *Writer) Flush() error {
	if w.err == nil && len(w.buf) > 0 {
		w.sendBuf()
	}
	return w.err
}

func (w *Writer) sendBuf() {
	b := w.buf
	w.buf = nil // the next chunk is a new slice: b is gRPC's now
	w.err = w.send(b)
}

// Reader reads the chunks that recv returns as one stream. recv's io.EOF
// is the stream's end; any other error is returned, unchanged, once the
// bytes before it are read. A Reader is not safe for concurrent use.
type Reader struct {
	recv func() ([]byte, error)
	buf  []byte
	err  error
}

// NewReader returns a Reader of the chunks recv returns.
func NewReader(recv func() ([]byte, error)) *Reader { return &Reader{recv: recv} }

// Read reads from the current chunk, receiving the next when it is used
// up; empty chunks are skipped.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.next()
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// WriteTo writes every chunk to w as it is received, until the stream's
// end. It returns a receive error unchanged, and a write error as w gave
// it.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for {
		if len(r.buf) > 0 {
			m, err := w.Write(r.buf)
			n += int64(m)
			r.buf = r.buf[m:]
			if err != nil {
				return n, err
			}
			if len(r.buf) > 0 {
				return n, io.ErrShortWrite
			}
		}
		if errors.Is(r.err, io.EOF) {
			return n, nil
		}
		if r.err != nil {
			return n, r.err
		}
		r.next()
	}
}

func (r *Reader) next() {
	r.buf, r.err = r.recv()
	if errors.Is(r.err, io.EOF) {
		r.err = io.EOF // io.Copy and friends compare, not unwrap
	}
}

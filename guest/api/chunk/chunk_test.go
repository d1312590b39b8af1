package chunk

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// recorder keeps every chunk sent, as gRPC may keep a message after Send
// returns, and fails the send numbered failAt (from 1) when set.
type recorder struct {
	chunks [][]byte
	failAt int
	err    error
}

func (r *recorder) send(b []byte) error {
	if r.failAt > 0 && len(r.chunks)+1 == r.failAt {
		return r.err
	}
	r.chunks = append(r.chunks, b)
	return nil
}

// recv returns the recorded chunks in order, then io.EOF.
func (r *recorder) recv() func() ([]byte, error) {
	i := 0
	return func() ([]byte, error) {
		if i == len(r.chunks) {
			return nil, io.EOF
		}
		i++
		return r.chunks[i-1], nil
	}
}

func payload(n int) []byte {
	b := make([]byte, n)
	rng := rand.New(rand.NewPCG(uint64(n), 1))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

var sizes = []int{0, 1, Size - 1, Size, Size + 1, 5*Size + 123}

func TestRoundTrip(t *testing.T) {
	// Ways to write: one Write, small odd Writes, and ReadFrom (what
	// io.Copy from a file uses), from a reader that gives little at a time.
	writes := map[string]func(w *Writer, data []byte) error{
		"one write": func(w *Writer, data []byte) error {
			_, err := w.Write(data)
			return err
		},
		"small writes": func(w *Writer, data []byte) error {
			for len(data) > 0 {
				n := min(len(data), 1000)
				if _, err := w.Write(data[:n]); err != nil {
					return err
				}
				data = data[n:]
			}
			return nil
		},
		"read from": func(w *Writer, data []byte) error {
			_, err := w.ReadFrom(iotest.HalfReader(bytes.NewReader(data)))
			return err
		},
	}
	for _, n := range sizes {
		for name, write := range writes {
			t.Run(fmt.Sprintf("%d bytes, %s", n, name), func(t *testing.T) {
				data := payload(n)
				rec := &recorder{}
				w := NewWriter(rec.send)
				if err := write(w, data); err != nil {
					t.Fatal(err)
				}
				if err := w.Flush(); err != nil {
					t.Fatal(err)
				}
				// Full chunks, then the rest: as few messages as can be.
				if want := (n + Size - 1) / Size; len(rec.chunks) != want {
					t.Errorf("%d chunks, want %d", len(rec.chunks), want)
				}
				for i, c := range rec.chunks {
					if len(c) == 0 || len(c) > Size || len(c) < Size && i != len(rec.chunks)-1 {
						t.Errorf("chunk %d has %d bytes", i, len(c))
					}
				}
				// Every sent chunk still holds what it held when sent.
				if got := bytes.Join(rec.chunks, nil); !bytes.Equal(got, data) {
					t.Fatalf("the chunks sent hold %d bytes, not the %d written", len(got), n)
				}
				got, err := io.ReadAll(NewReader(rec.recv()))
				if err != nil || !bytes.Equal(got, data) {
					t.Errorf("Read: %d bytes, %v; want %d", len(got), err, n)
				}
				var out bytes.Buffer
				if m, err := NewReader(rec.recv()).WriteTo(&out); err != nil || m != int64(n) || !bytes.Equal(out.Bytes(), data) {
					t.Errorf("WriteTo: %d bytes, %v; want %d", m, err, n)
				}
			})
		}
	}
}

func TestWriterNeverReusesAChunk(t *testing.T) {
	rec := &recorder{}
	w := NewWriter(rec.send)
	data := payload(3*Size + 7)
	if _, err := io.Copy(w, iotest.OneByteReader(bytes.NewReader(data))); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	seen := map[*byte]bool{}
	for i, c := range rec.chunks {
		if seen[&c[:cap(c)][0]] {
			t.Fatalf("chunk %d shares the array of an earlier one", i)
		}
		seen[&c[:cap(c)][0]] = true
	}
	if !bytes.Equal(bytes.Join(rec.chunks, nil), data) {
		t.Error("the chunks sent were written over")
	}
}

func TestSendErrorStops(t *testing.T) {
	ended := errors.New("the stream ended")
	for _, name := range []string{"write", "read from", "flush"} {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{failAt: 2, err: ended}
			w := NewWriter(rec.send)
			data := payload(2*Size + 10)
			var err error
			switch name {
			case "write":
				_, err = w.Write(data)
			case "read from":
				_, err = w.ReadFrom(bytes.NewReader(data))
			case "flush":
				rec.failAt = 1
				if _, err = w.Write(data[:10]); err != nil {
					t.Fatalf("Write before any send: %v", err)
				}
				err = w.Flush()
			}
			if !errors.Is(err, ended) {
				t.Fatalf("err = %v, want the send's", err)
			}
			sent := len(rec.chunks)
			if _, err := w.Write(data); !errors.Is(err, ended) {
				t.Errorf("Write after a failed send: %v", err)
			}
			if err := w.Flush(); !errors.Is(err, ended) {
				t.Errorf("Flush after a failed send: %v", err)
			}
			if len(rec.chunks) != sent {
				t.Errorf("%d chunks sent after the failure", len(rec.chunks)-sent)
			}
		})
	}
}

func TestReadFromReturnsTheReadError(t *testing.T) {
	broken := errors.New("disk on fire")
	rec := &recorder{}
	w := NewWriter(rec.send)
	r := io.MultiReader(bytes.NewReader(payload(Size+5)), iotest.ErrReader(broken))
	if n, err := w.ReadFrom(r); !errors.Is(err, broken) || n != Size+5 {
		t.Errorf("ReadFrom = %d, %v; want %d and the read error", n, err, Size+5)
	}
}

func TestReaderErrors(t *testing.T) {
	canceled := errors.New("rpc canceled")
	recvs := func(chunks ...[]byte) func() ([]byte, error) {
		return func() ([]byte, error) {
			if len(chunks) == 0 {
				return nil, canceled
			}
			c := chunks[0]
			chunks = chunks[1:]
			return c, nil
		}
	}
	// The bytes before the error are read, empty chunks skipped, then
	// the error, unchanged, every time.
	r := NewReader(recvs([]byte("ab"), nil, []byte("c")))
	got, err := io.ReadAll(r)
	if string(got) != "abc" || !errors.Is(err, canceled) {
		t.Errorf("ReadAll = %q, %v", got, err)
	}
	if _, err := r.Read(make([]byte, 1)); !errors.Is(err, canceled) {
		t.Errorf("Read after the error: %v", err)
	}
	var out bytes.Buffer
	if n, err := NewReader(recvs([]byte("ab"))).WriteTo(&out); n != 2 || !errors.Is(err, canceled) {
		t.Errorf("WriteTo = %d, %v", n, err)
	}
	// A wrapped io.EOF is still the end, and read as io.EOF itself,
	// which readers' callers compare with ==.
	wrapped := func() ([]byte, error) { return nil, fmt.Errorf("recv: %w", io.EOF) }
	if n, err := NewReader(wrapped).Read(make([]byte, 1)); n != 0 || err != io.EOF { //nolint:errorlint // the point is an unwrapped io.EOF
		t.Errorf("Read at a wrapped EOF = %d, %v; want io.EOF", n, err)
	}
	// A write error stops WriteTo.
	full := errors.New("no space left")
	if _, err := NewReader(recvs([]byte("ab"))).WriteTo(failingWriter{full}); !errors.Is(err, full) {
		t.Errorf("WriteTo a failing writer: %v", err)
	}
}

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }

package wire

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

func TestDatagramRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var sent [][]byte
	var b bytes.Buffer
	for _, n := range []int{1, 0, MaxDatagram, 512} {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		sent = append(sent, p)
		if err := WriteDatagram(&b, p); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, MaxDatagram)
	for _, want := range sent {
		n, err := ReadDatagram(&b, buf)
		if err != nil || !bytes.Equal(buf[:n], want) {
			t.Fatalf("ReadDatagram = %d bytes, %v; want the %d sent", n, err, len(want))
		}
	}
	if _, err := ReadDatagram(&b, buf); !errors.Is(err, io.EOF) {
		t.Fatalf("ReadDatagram at the end = %v, want io.EOF", err)
	}
	if err := WriteDatagram(&b, make([]byte, MaxDatagram+1)); err == nil {
		t.Fatal("WriteDatagram of more than a UDP payload succeeded")
	}
}

func TestReadDatagramShortBuffer(t *testing.T) {
	var b bytes.Buffer
	_ = WriteDatagram(&b, []byte("too long"))
	if _, err := ReadDatagram(&b, make([]byte, 3)); !errors.Is(err, io.ErrShortBuffer) {
		t.Fatalf("ReadDatagram into a short buffer = %v, want io.ErrShortBuffer", err)
	}
}

func TestDatagramConn(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	_ = a.SetDeadline(time.Now().Add(5 * time.Second))
	_ = b.SetDeadline(time.Now().Add(5 * time.Second))
	ca, cb := DatagramConn(a), DatagramConn(b)
	go func() {
		for _, m := range []string{"one", "", "three, cut"} {
			_, _ = ca.Write([]byte(m))
		}
	}()
	small := make([]byte, 5)
	for _, want := range []string{"one", "", "three"} {
		n, err := cb.Read(small)
		if err != nil || string(small[:n]) != want {
			t.Fatalf("Read = %q, %v; want %q (one datagram, cut to the buffer)", small[:n], err, want)
		}
	}
}

// FuzzReadDatagram checks the reading of frames from the other end:
// every frame read is one that writes back as the bytes it came from.
func FuzzReadDatagram(f *testing.F) {
	var seed bytes.Buffer
	_ = WriteDatagram(&seed, []byte("ping"))
	_ = WriteDatagram(&seed, nil)
	f.Add(seed.Bytes(), 64)
	f.Add([]byte{0xff, 0xff, 1}, 65535)
	f.Add([]byte{0, 5, 'a'}, 2)
	f.Fuzz(func(t *testing.T, in []byte, size int) {
		if size < 0 || size > MaxDatagram {
			return
		}
		r := bytes.NewReader(in)
		buf := make([]byte, size)
		for off := 0; ; {
			n, err := ReadDatagram(r, buf)
			if err != nil {
				return
			}
			var again bytes.Buffer
			if err := WriteDatagram(&again, buf[:n]); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again.Bytes(), in[off:off+again.Len()]) {
				t.Fatalf("frame at %d read as %q does not write back the same", off, buf[:n])
			}
			off += again.Len()
		}
	})
}

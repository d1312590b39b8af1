package tapfwd

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// frame is an Ethernet frame of n bytes whose payload counts from seed.
func frame(n int, seed byte) []byte {
	f := make([]byte, n)
	for i := range f {
		f[i] = seed + byte(i)
	}
	return f
}

// link is Forward between a device and a host end, each a pipe whose
// far end the test holds: dev (the kernel's side of the TAP device) and
// host (the host's stack).
type link struct {
	dev, host net.Conn
	done      chan error
	cancel    context.CancelFunc
}

func startLink(t *testing.T, devEnd net.Conn) *link {
	t.Helper()
	fwdDev, dev := devEnd, net.Conn(nil)
	if fwdDev == nil {
		fwdDev, dev = net.Pipe()
		t.Cleanup(func() { fwdDev.Close(); dev.Close() })
	}
	fwdConn, host := net.Pipe()
	t.Cleanup(func() { host.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	l := &link{dev: dev, host: host, done: make(chan error, 1), cancel: cancel}
	go func() { l.done <- Forward(ctx, fwdDev, fwdConn) }()
	return l
}

func (l *link) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-l.done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Forward did not return")
		return nil
	}
}

func TestForwardCarriesFramesBothWays(t *testing.T) {
	l := startLink(t, nil)
	buf := make([]byte, MaxFrame)
	for _, n := range []int{minFrame, 60, 1514, MaxFrame} {
		out := frame(n, byte(n))
		if err := WriteFrame(l.host, out); err != nil {
			t.Fatal(err)
		}
		got, err := l.dev.Read(buf)
		if err != nil || !bytes.Equal(buf[:got], out) {
			t.Fatalf("host sent a %d-byte frame; the device got %d bytes, %v", n, got, err)
		}
		in := frame(n, byte(n)+1)
		if _, err := l.dev.Write(in); err != nil {
			t.Fatal(err)
		}
		got, err = ReadFrame(l.host, buf)
		if err != nil || !bytes.Equal(buf[:got], in) {
			t.Fatalf("the device sent a %d-byte frame; the host got %d bytes, %v", n, got, err)
		}
	}
}

func TestForwardEndsOnABadLength(t *testing.T) {
	for _, n := range []uint32{0, minFrame - 1, MaxFrame + 1, 1 << 31} {
		l := startLink(t, nil)
		go func() { _, _ = l.host.Write(binary.BigEndian.AppendUint32(nil, n)) }()
		if err := l.wait(t); !errors.Is(err, ErrBadFrame) {
			t.Errorf("length %d: Forward = %v, want ErrBadFrame", n, err)
		}
	}
}

// TestForwardLeavesTheDeviceForTheNextLink checks that a link the host
// closes ends Forward with io.EOF, even while the device has no frame to
// read, and that the next link carries frames on the same device.
func TestForwardLeavesTheDeviceForTheNextLink(t *testing.T) {
	fwdDev, dev := net.Pipe()
	defer fwdDev.Close()
	defer dev.Close()
	l := startLink(t, fwdDev)
	l.host.Close()
	if err := l.wait(t); !errors.Is(err, io.EOF) {
		t.Fatalf("host closed the link: Forward = %v, want io.EOF", err)
	}
	l = startLink(t, fwdDev)
	in := frame(100, 7)
	go func() { _, _ = dev.Write(in) }()
	buf := make([]byte, MaxFrame)
	n, err := ReadFrame(l.host, buf)
	if err != nil || !bytes.Equal(buf[:n], in) {
		t.Fatalf("second link: host got %d bytes, %v", n, err)
	}
}

func TestForwardEndsWithItsContext(t *testing.T) {
	l := startLink(t, nil)
	l.cancel()
	if err := l.wait(t); !errors.Is(err, context.Canceled) {
		t.Fatalf("Forward = %v, want context.Canceled", err)
	}
	if _, err := l.host.Write([]byte{0}); err == nil {
		t.Error("the connection is still open after Forward returned")
	}
}

// TestRunRedials checks that the network comes back when the host's end
// drops: Run dials again and frames flow on the new connection.
func TestRunRedials(t *testing.T) {
	fwdDev, dev := net.Pipe()
	defer fwdDev.Close()
	defer dev.Close()
	hosts := make(chan net.Conn)
	dials := 0
	dial := func(ctx context.Context) (net.Conn, error) {
		dials++
		if dials == 2 {
			return nil, errors.New("the host is not listening yet")
		}
		a, b := net.Pipe()
		select {
		case hosts <- b:
			return a, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		Run(ctx, fwdDev, dial, slog.New(slog.DiscardHandler))
		close(ran)
	}()
	(<-hosts).Close()
	host := <-hosts
	defer host.Close()
	out := frame(64, 3)
	if err := WriteFrame(host, out); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, MaxFrame)
	n, err := dev.Read(buf)
	if err != nil || !bytes.Equal(buf[:n], out) {
		t.Fatalf("after a redial the device got %d bytes, %v", n, err)
	}
	cancel()
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return when its context ended")
	}
	if dials != 3 {
		t.Errorf("%d dials, want 3 (the first link, a refused dial, the second link)", dials)
	}
}

func TestFrameFormat(t *testing.T) {
	var b bytes.Buffer
	if err := WriteFrame(&b, frame(20, 0)); err != nil {
		t.Fatal(err)
	}
	if got := b.Bytes()[:4]; !bytes.Equal(got, []byte{0, 0, 0, 20}) {
		t.Errorf("length prefix %x, want 4 big-endian bytes", got)
	}
	buf := make([]byte, MaxFrame)
	if _, err := ReadFrame(bytes.NewReader(b.Bytes()[:10]), buf); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a frame cut short: %v, want io.ErrUnexpectedEOF", err)
	}
	if err := WriteFrame(&b, make([]byte, MaxFrame+1)); !errors.Is(err, ErrBadFrame) {
		t.Errorf("WriteFrame of MaxFrame+1 bytes: %v", err)
	}
}

// FuzzReadFrame checks the reading of the host's stream: a frame it
// accepts is within bounds and written back as it was read.
func FuzzReadFrame(f *testing.F) {
	f.Add(append([]byte{0, 0, 0, 14}, frame(14, 0)...))
	f.Add([]byte{0, 1, 0, 0, 1, 2})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		buf := make([]byte, MaxFrame)
		n, err := ReadFrame(bytes.NewReader(in), buf)
		if err != nil {
			return
		}
		if n < minFrame || n > MaxFrame {
			t.Fatalf("accepted a %d-byte frame", n)
		}
		var b bytes.Buffer
		if err := WriteFrame(&b, buf[:n]); err != nil || !bytes.Equal(b.Bytes(), in[:4+n]) {
			t.Fatalf("frame read from %x written back as %x, %v", in[:4+n], b.Bytes(), err)
		}
	})
}

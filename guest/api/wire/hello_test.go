package wire

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// chunkReader returns its chunks one Read at a time; an empty chunk is
// a read of io.EOF (a serial port with no host).
type chunkReader struct{ chunks []string }

func (r *chunkReader) Read(b []byte) (int, error) {
	if len(r.chunks) == 0 {
		return 0, errors.New("no more input")
	}
	c := r.chunks[0]
	if c == "" {
		r.chunks = r.chunks[1:]
		return 0, io.EOF
	}
	n := copy(b, c)
	r.chunks[0] = c[n:]
	if n == len(c) {
		r.chunks = r.chunks[1:]
	}
	return n, nil
}

func TestReadHello(t *testing.T) {
	tests := []struct {
		name     string
		in       []string
		idleErr  error
		wantErr  bool
		wantRest string
	}{
		{name: "hello", in: []string{"SKIFFv1\n"}},
		{name: "stale bytes first", in: []string{"\x00\x02\x00\x01garbageSKIFFv1\n"}},
		{name: "a partial hello before the real one", in: []string{"SKIFSKIFFv1SKIFFv1\n"}},
		{name: "hello split across reads and EOFs", in: []string{"", "SKI", "", "FFv1", "\n"}},
		{name: "yamux data after the hello is left unread", in: []string{"SKIFFv1\n\x00\x01\x00\x00"}, wantRest: "\x00\x01\x00\x00"},
		{name: "closed socket", in: []string{"SKIF", ""}, idleErr: io.EOF, wantErr: true},
		{name: "wrong version", in: []string{"SKIFFv2\n"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &chunkReader{chunks: tc.in}
			err := ReadHello(context.Background(), r, func(context.Context) error { return tc.idleErr })
			if (err != nil) != tc.wantErr {
				t.Fatalf("ReadHello: %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			rest, _ := io.ReadAll(io.LimitReader(r, 100))
			if string(rest) != tc.wantRest {
				t.Errorf("left %q unread, want %q", rest, tc.wantRest)
			}
		})
	}
}

func TestReadOK(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr error
	}{
		{"answer", "SKIFFok\n", nil},
		{"console output first", "[    0.1] booting\nSKIFFok\nyamux", nil},
		{"no answer", strings.Repeat("x", MaxHelloNoise+10), ErrNoOK},
		{"closed", "SKIFF", io.EOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ReadOK(strings.NewReader(tc.in))
			if (tc.wantErr == nil) != (err == nil) || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Fatalf("ReadOK = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestSkipHellos(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"none", "\x00\x01frame", "\x00\x01frame"},
		{"two repeats", "SKIFFv1\nSKIFFv1\n\x00\x01frame", "\x00\x01frame"},
		{"prefix of a hello is data", "SKIF\x00rest", "SKIF\x00rest"},
		{"only hellos", "SKIFFv1\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// One byte at a time, as a serial port may deliver it.
			got, err := io.ReadAll(SkipHellos(iotest.OneByteReader(strings.NewReader(tc.in))))
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestHelloRoundTrip runs both ends over a pipe: the host writes noise
// and repeated hellos, the agent answers the first, the host finds the
// answer, and the agent's next reader sees the host's first frame.
func TestHelloRoundTrip(t *testing.T) {
	host, agent := net.Pipe()
	defer host.Close()
	defer agent.Close()
	_ = host.SetDeadline(time.Now().Add(10 * time.Second))
	_ = agent.SetDeadline(time.Now().Add(10 * time.Second))
	go func() {
		_, _ = host.Write([]byte("stale frames" + Hello + Hello + Hello + "FRAME"))
	}()
	br := bufio.NewReader(agent)
	answered := make(chan error, 1)
	go func() {
		if err := ReadHello(context.Background(), br, nil); err != nil {
			answered <- err
			return
		}
		_, err := agent.Write([]byte("agent console\n" + OK))
		answered <- err
	}()
	if err := ReadOK(host); err != nil {
		t.Fatalf("host ReadOK: %v", err)
	}
	if err := <-answered; err != nil {
		t.Fatalf("agent: %v", err)
	}
	got := make([]byte, len("FRAME"))
	if _, err := io.ReadFull(SkipHellos(br), got); err != nil || string(got) != "FRAME" {
		t.Fatalf("after the hellos the agent read %q, %v; want FRAME", got, err)
	}
}

// FuzzReadHello checks the agent's reading of what the host's end sends:
// ReadHello stops right after the first hello, and SkipHellos then drops
// exactly the hellos that follow it.
func FuzzReadHello(f *testing.F) {
	for _, s := range []string{Hello, "noise" + Hello + Hello + "x", "SKIFSKIFFv1\n", "SKIFFv2\n", Hello + "SKIF"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		err := ReadHello(context.Background(), r, func(context.Context) error { return io.EOF })
		i := bytes.Index(in, []byte(Hello))
		if i < 0 {
			if err == nil {
				t.Fatalf("ReadHello(%q) found a hello", in)
			}
			return
		}
		if err != nil {
			t.Fatalf("ReadHello(%q): %v", in, err)
		}
		rest := in[i+len(Hello):]
		if consumed := len(in) - r.Len(); consumed != i+len(Hello) {
			t.Fatalf("ReadHello(%q) consumed %d bytes, want %d", in, consumed, i+len(Hello))
		}
		want := rest
		for bytes.HasPrefix(want, []byte(Hello)) {
			want = want[len(Hello):]
		}
		got, _ := io.ReadAll(SkipHellos(r))
		if !bytes.Equal(got, want) {
			t.Fatalf("SkipHellos(%q) = %q, want %q", rest, got, want)
		}
	})
}

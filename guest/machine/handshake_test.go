package machine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
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

func TestHandshake(t *testing.T) {
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
			var w bytes.Buffer
			err := handshake(context.Background(), r, &w, func(context.Context) error { return tc.idleErr })
			if (err != nil) != tc.wantErr {
				t.Fatalf("handshake: %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				if w.Len() != 0 {
					t.Errorf("answered %q without a hello", w.String())
				}
				return
			}
			if w.String() != "SKIFFok\n" {
				t.Errorf("answer %q", w.String())
			}
			rest, _ := io.ReadAll(io.LimitReader(r, 100))
			if string(rest) != tc.wantRest {
				t.Errorf("left %q unread, want %q", rest, tc.wantRest)
			}
		})
	}
}

func TestSkipHellosDropsRepeatedHellos(t *testing.T) {
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
			got, err := io.ReadAll(&skipHellos{r: iotest.OneByteReader(strings.NewReader(tc.in))})
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

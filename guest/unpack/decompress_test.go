package unpack

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/klauspost/compress/zstd"
)

func TestDecompress(t *testing.T) {
	plain := []byte("a layer's tar, or anything else")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	zst := enc.EncodeAll(plain, nil)

	tests := []struct {
		name string
		in   []byte
		want Compression
		out  []byte
	}{
		{"uncompressed", plain, Uncompressed, plain},
		{"gzip", gz.Bytes(), Gzip, plain},
		{"zstd", zst, Zstd, plain},
		{"empty", nil, Uncompressed, nil},
		{"shorter than any magic", []byte{0x1f}, Uncompressed, []byte{0x1f}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, c, err := Decompress(bytes.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, err := io.ReadAll(r)
			if err != nil || c != tc.want || !bytes.Equal(got, tc.out) {
				t.Errorf("got %q as %s (%v), want %q as %s", got, c, err, tc.out, tc.want)
			}
		})
	}

	xz := []byte{0xfd, '7', 'z', 'X', 'Z', 0x00, 0x00}
	if _, c, err := Decompress(bytes.NewReader(xz)); c != Xz || !errdefs.IsNotImplemented(err) {
		t.Errorf("xz: %s, %v; want a not implemented error", c, err)
	}
}

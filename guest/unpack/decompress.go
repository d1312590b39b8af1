package unpack

import (
	"bufio"
	"bytes"
	"compress/bzip2"

	"errors"
	"fmt"
	"io"

	"github.com/containerd/errdefs"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compression names the format Decompress found.
type Compression string

// The formats Decompress recognises.
const (
	Uncompressed Compression = "uncompressed"
	Gzip         Compression = "gzip"
	Zstd         Compression = "zstd"
	Bzip2        Compression = "bzip2"
	Xz           Compression = "xz"
)

var magics = []struct {
	c     Compression
	magic []byte
}{
	{Gzip, []byte{0x1f, 0x8b}},
	{Zstd, []byte{0x28, 0xb5, 0x2f, 0xfd}},
	{Bzip2, []byte("BZh")},
	{Xz, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}},
}

// Detect reports the compression of the stream that starts with head.
// Anything unrecognised is taken to be uncompressed; the tar reader
// rejects it if it is not a tar either.
func Detect(head []byte) Compression {
	for _, m := range magics {
		if bytes.HasPrefix(head, m.magic) {
			return m.c
		}
	}
	return Uncompressed
}

// Decompress sniffs r's first bytes and returns a reader of its
// uncompressed content: gzip, zstd and bzip2 are decoded, anything else
// is passed through. xz is recognised but refused with an
// errdefs.ErrNotImplemented error, as it is neither in the standard
// library nor ever produced by docker, podman or buildkit for layers. The
// caller must Close the result.
func Decompress(r io.Reader) (io.ReadCloser, Compression, error) {
	br := bufio.NewReader(r)
	head, err := br.Peek(6)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, "", fmt.Errorf("read compression header: %w", err)
	}
	c := Detect(head)
	switch c {
	case Gzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, c, fmt.Errorf("open gzip stream: %w", err)
		}
		return zr, c, nil
	case Zstd:
		// One decoder goroutine: layers are decoded one at a time and
		// the agent runs in a small VM.
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, c, fmt.Errorf("open zstd stream: %w", err)
		}
		return zr.IOReadCloser(), c, nil
	case Bzip2:
		return io.NopCloser(bzip2.NewReader(br)), c, nil
	case Xz:
		return nil, c, fmt.Errorf("xz-compressed content: %w", errdefs.ErrNotImplemented)
	default:
		return io.NopCloser(br), c, nil
	}
}

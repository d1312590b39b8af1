package dockerapi

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"testing"
)

func tarOf(t *testing.T, name, content string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content))}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A PUT /archive body is a tar, plain or gzipped, as docker takes it.
func TestDecompressed(t *testing.T) {
	plain := tarOf(t, "f", "hello")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(plain)
	_ = zw.Close()
	for name, body := range map[string][]byte{"plain": plain, "gzip": gz.Bytes()} {
		r, err := decompressed(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("%s: %d bytes, %v; want the tar", name, len(got), err)
		}
	}
	if _, err := decompressed(bytes.NewReader([]byte{0xfd, '7', 'z', 'X', 'Z'})); err == nil {
		t.Error("an xz archive was taken")
	}
	if r, err := decompressed(bytes.NewReader(nil)); err != nil {
		t.Errorf("empty body: %v", err)
	} else if b, _ := io.ReadAll(r); len(b) != 0 {
		t.Errorf("empty body read %d bytes", len(b))
	}
}

func FuzzDecompressed(f *testing.F) {
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	f.Add([]byte("BZh9"))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := decompressed(bytes.NewReader(body))
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(r, 1<<20))
		}
	})
}

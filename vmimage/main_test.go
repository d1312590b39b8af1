package main

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"

	"github.com/skiffrun/skiff/vmimage/cpio"
)

func TestParseDepends(t *testing.T) {
	out := []byte("linux-image-arm64:arm64\n  Depends: linux-image-6.1.0-56-arm64:arm64\n  Depends: other\n")
	if got, ok := parseDepends(out, "linux-image-"); !ok || got != "linux-image-6.1.0-56-arm64" {
		t.Errorf("parseDepends = %q, %v", got, ok)
	}
	if _, ok := parseDepends([]byte("x\n  Recommends: linux-image-1\n"), "linux-image-"); ok {
		t.Error("found a dependency in a Recommends line")
	}
	if got := debFileName("libc6", "1:2.36-9", "arm64"); got != "libc6_1%3a2.36-9_arm64.deb" {
		t.Errorf("debFileName = %q", got)
	}
}

func TestResolveModules(t *testing.T) {
	deps, err := parseModulesDep([]byte(`kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/netfs/netfs.ko
kernel/net/9p/9pnet.ko:
kernel/fs/netfs/netfs.ko:
kernel/drivers/char/hw_random/virtio-rng.ko: kernel/drivers/virtio/virtio.ko
kernel/drivers/virtio/virtio.ko:
kernel/fs/unwanted.ko:
`))
	if err != nil {
		t.Fatal(err)
	}
	order, unknown, err := resolveModules(deps, map[string]bool{"ext4": true}, []string{"9p", "virtio-rng", "ext4", "nosuch"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"kernel/fs/netfs/netfs.ko", "kernel/net/9p/9pnet.ko", "kernel/fs/9p/9p.ko", "kernel/drivers/virtio/virtio.ko", "kernel/drivers/char/hw_random/virtio-rng.ko"}
	if !slices.Equal(order, want) {
		t.Errorf("order %v\nwant  %v", order, want)
	}
	if !slices.Equal(unknown, []string{"nosuch"}) {
		t.Errorf("unknown %v", unknown)
	}
	if _, _, err := resolveModules(map[string][]string{"a.ko": {"b.ko"}}, nil, []string{"a"}); err == nil {
		t.Error("a missing dependency: no error")
	}
}

// TestInitramfsIsReproducible checks that the same entries, in any order,
// give the same compressed bytes.
func TestInitramfsIsReproducible(t *testing.T) {
	es := []cpio.Entry{
		{Path: "init", Kind: cpio.File, Mode: 0o755, Data: bytes.Repeat([]byte("agent"), 1000)},
		{Path: "dev/console", Kind: cpio.CharDev, Mode: 0o600, Major: 5, Minor: 1},
		{Path: "images/busybox-amd64.tar", Kind: cpio.File, Mode: 0o644, Data: []byte("tar")},
	}
	a, err := archive(es)
	if err != nil {
		t.Fatal(err)
	}
	b, err := archive([]cpio.Entry{es[2], es[0], es[1]})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("same entries, different initramfs")
	}
	if !bytes.HasPrefix(a, []byte("070701")) {
		t.Errorf("the initramfs starts with %q, want an uncompressed newc archive", a[:6])
	}
}

func TestStripSignature(t *testing.T) {
	body := []byte("\x7fELF module body")
	sig := bytes.Repeat([]byte{0xab}, 300)
	info := make([]byte, 12)
	info[2] = 2 // PKCS#7
	binary.BigEndian.PutUint32(info[8:], uint32(len(sig)))
	signed := slices.Concat(body, sig, info, []byte(sigMagic))
	if got := stripSignature(signed); !bytes.Equal(got, body) {
		t.Fatalf("stripSignature(signed) = %q, want %q", got, body)
	}
	if got := stripSignature(body); !bytes.Equal(got, body) {
		t.Fatalf("stripSignature(unsigned) changed it to %q", got)
	}
	// A length that points before the start leaves the module as it is.
	binary.BigEndian.PutUint32(info[8:], 1<<20)
	bad := slices.Concat(body, info, []byte(sigMagic))
	if got := stripSignature(bad); !bytes.Equal(got, bad) {
		t.Fatalf("stripSignature(bad length) = %q, want it unchanged", got)
	}
}

package kernel

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"math/rand/v2"
	"os/exec"
	"testing"
)

// x86Like is data full of E8/E9 call and jump opcodes, which the BCJ
// filter rewrites.
func x86Like() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 1<<20)
	for i := range b {
		switch r.IntN(8) {
		case 0:
			b[i] = 0xE8
		case 1:
			b[i] = 0x00
		case 2:
			b[i] = 0xFF
		default:
			b[i] = byte(r.IntN(256))
		}
	}
	return b
}

// TestDecompressXZWithBCJ compresses with xz --x86 (as the kernel's build
// does) and checks the round trip, with trailing data as in a bzImage.
func TestDecompressXZWithBCJ(t *testing.T) {
	if _, err := exec.LookPath("xz"); err != nil {
		t.Skip("xz is not installed")
	}
	want := x86Like()
	for _, args := range [][]string{{"--check=crc32", "--x86", "--lzma2=dict=32MiB"}, {"--check=crc32", "--lzma2=dict=1MiB"}} {
		cmd := exec.Command("xz", append(args, "-c")...)
		cmd.Stdin = bytes.NewReader(want)
		packed, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecompressXZ(append(packed, 0x12, 0x34, 0x56, 0x78))
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%v: round trip differs", args)
		}
	}
}

func TestDecompressXZRejectsGarbage(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("not xz"), append(append([]byte{}, xzMagic...), 0, 1, 2, 3, 4, 5)} {
		if _, err := DecompressXZ(b); err == nil {
			t.Errorf("DecompressXZ(%q): no error", b)
		}
	}
	if _, err := VMLinux([]byte("a bzImage with no xz")); err == nil {
		t.Error("VMLinux: no error")
	}
}

func TestImage(t *testing.T) {
	img := make([]byte, 128)
	copy(img[56:], "ARM\x64")
	got, err := Image(img)
	if err != nil || !bytes.Equal(got, img) {
		t.Errorf("plain Image: %v", err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(img)
	zw.Close()
	if got, err := Image(gz.Bytes()); err != nil || !bytes.Equal(got, img) {
		t.Errorf("gzip'd Image: %v", err)
	}
	if _, err := Image(make([]byte, 128)); err == nil {
		t.Error("no magic: no error")
	}
}

func TestHasNote(t *testing.T) {
	note := []byte{4, 0, 0, 0, 8, 0, 0, 0, 18, 0, 0, 0, 'X', 'e', 'n', 0, 1, 2, 3, 4, 5, 6, 7, 8}
	if !hasNote(note, binaryLE, "Xen", 18) {
		t.Error("PVH note not found")
	}
	if hasNote(note, binaryLE, "Xen", 17) || hasNote(note[:20], binaryLE, "Xen", 18) {
		t.Error("found a note that is not there")
	}
}

var binaryLE = binary.LittleEndian

// Package kernel turns a Debian kernel package's boot image into the file
// a VM boots directly: on amd64 the ELF vmlinux inside the XZ-compressed
// bzImage (QEMU and Cloud Hypervisor boot it through its PVH entry point,
// with no decompression under emulation), on arm64 the uncompressed Image.
// Fetching and unpacking the package is left to the caller.
package kernel

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// xzMagic starts every XZ stream.
var xzMagic = []byte{0xFD, '7', 'z', 'X', 'Z', 0x00}

// VMLinux returns the ELF kernel inside an x86 bzImage. It finds the
// first XZ stream in it, decompresses it and checks the result is an
// ELF with a PVH entry note.
func VMLinux(bzImage []byte) ([]byte, error) {
	i := bytes.Index(bzImage, xzMagic)
	if i < 0 {
		return nil, errors.New("no XZ stream in the bzImage: is the kernel XZ-compressed?")
	}
	out, err := DecompressXZ(bzImage[i:])
	if err != nil {
		return nil, fmt.Errorf("decompress bzImage payload: %w", err)
	}
	if err := checkPVH(out); err != nil {
		return nil, err
	}
	return out, nil
}

// xenElfNotePhys32Entry is the ELF note, owned by "Xen", that holds the
// PVH entry point.
const xenElfNotePhys32Entry = 18

func checkPVH(vmlinux []byte) error {
	f, err := elf.NewFile(bytes.NewReader(vmlinux))
	if err != nil {
		return fmt.Errorf("decompressed kernel is not an ELF: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		data, err := io.ReadAll(p.Open())
		if err != nil {
			return fmt.Errorf("read ELF notes: %w", err)
		}
		if hasNote(data, f.ByteOrder, "Xen", xenElfNotePhys32Entry) {
			return nil
		}
	}
	return errors.New("kernel ELF has no PVH entry note (CONFIG_PVH): it cannot boot without its bzImage")
}

// hasNote reports whether the ELF note section data holds a note of the
// given owner and type.
func hasNote(data []byte, bo binary.ByteOrder, owner string, typ uint32) bool {
	align4 := func(n uint32) uint32 { return (n + 3) &^ 3 }
	for len(data) >= 12 {
		namesz, descsz, t := bo.Uint32(data), bo.Uint32(data[4:]), bo.Uint32(data[8:])
		data = data[12:]
		n, d := align4(namesz), align4(descsz)
		if uint64(n)+uint64(d) > uint64(len(data)) {
			return false
		}
		name := string(bytes.TrimRight(data[:namesz], "\x00"))
		if name == owner && t == typ {
			return true
		}
		data = data[n+d:]
	}
	return false
}

// Image returns the arm64 kernel Image from what a Debian package ships
// as vmlinuz: the Image itself, or the Image gzip-compressed.
func Image(vmlinuz []byte) ([]byte, error) {
	img := vmlinuz
	if len(img) >= 2 && img[0] == 0x1f && img[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(img))
		if err != nil {
			return nil, fmt.Errorf("decompress Image: %w", err)
		}
		if img, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("decompress Image: %w", err)
		}
	}
	// The arm64 boot header carries "ARM\x64" at offset 56.
	if len(img) < 64 || string(img[56:60]) != "ARM\x64" {
		return nil, errors.New("not an arm64 kernel Image (no ARM\\x64 magic at offset 56)")
	}
	return img, nil
}

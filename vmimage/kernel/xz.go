package kernel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/ulikunitz/xz/lzma"
)

// XZ filter IDs the kernel's compressor uses: the x86 branch converter
// (BCJ), then LZMA2. github.com/ulikunitz/xz reads LZMA2 but not BCJ, so
// this file reads the XZ container itself.
const (
	filterX86   = 0x04
	filterLZMA2 = 0x21
)

// DecompressXZ decompresses the first block of the XZ stream at the start
// of data, undoing an x86 BCJ filter when there is one. Data after the
// block (the rest of a bzImage) is ignored.
func DecompressXZ(data []byte) ([]byte, error) {
	if len(data) < 12 || !bytes.Equal(data[:6], xzMagic) {
		return nil, errors.New("not an XZ stream")
	}
	if crc32.ChecksumIEEE(data[6:8]) != binary.LittleEndian.Uint32(data[8:12]) {
		return nil, errors.New("XZ stream header checksum mismatch")
	}
	data = data[12:]
	if len(data) < 1 || data[0] == 0 {
		return nil, errors.New("XZ stream has no block")
	}
	hsize := (int(data[0]) + 1) * 4
	if len(data) < hsize {
		return nil, errors.New("truncated XZ block header")
	}
	hdr := data[:hsize]
	if crc32.ChecksumIEEE(hdr[:hsize-4]) != binary.LittleEndian.Uint32(hdr[hsize-4:]) {
		return nil, errors.New("XZ block header checksum mismatch")
	}
	filters, err := parseBlockHeader(hdr[1 : hsize-4])
	if err != nil {
		return nil, err
	}
	var dictCap int
	bcj := false
	for i, f := range filters {
		last := i == len(filters)-1
		switch {
		case f.id == filterLZMA2 && last && len(f.props) == 1:
			dictCap, err = lzma2DictCap(f.props[0])
			if err != nil {
				return nil, err
			}
		case f.id == filterX86 && !last && len(f.props) == 0:
			bcj = true
		default:
			return nil, fmt.Errorf("unsupported XZ filter %#x", f.id)
		}
	}
	r, err := lzma.Reader2Config{DictCap: dictCap}.NewReader2(bytes.NewReader(data[hsize:]))
	if err != nil {
		return nil, fmt.Errorf("LZMA2: %w", err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("LZMA2: %w", err)
	}
	if bcj {
		unBCJX86(out)
	}
	return out, nil
}

type xzFilter struct {
	id    uint64
	props []byte
}

// parseBlockHeader reads the block flags and filter flags of an XZ block
// header (without its size byte and CRC).
func parseBlockHeader(b []byte) ([]xzFilter, error) {
	if len(b) < 1 {
		return nil, errors.New("empty XZ block header")
	}
	flags := b[0]
	b = b[1:]
	if flags&0x3c != 0 {
		return nil, errors.New("XZ block header has reserved flags set")
	}
	skip := func() error {
		_, n := binary.Uvarint(b)
		if n <= 0 {
			return errors.New("bad varint in XZ block header")
		}
		b = b[n:]
		return nil
	}
	if flags&0x40 != 0 { // compressed size
		if err := skip(); err != nil {
			return nil, err
		}
	}
	if flags&0x80 != 0 { // uncompressed size
		if err := skip(); err != nil {
			return nil, err
		}
	}
	n := int(flags&3) + 1
	filters := make([]xzFilter, 0, n)
	for range n {
		id, k := binary.Uvarint(b)
		if k <= 0 {
			return nil, errors.New("bad filter ID in XZ block header")
		}
		b = b[k:]
		size, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < size {
			return nil, errors.New("bad filter properties in XZ block header")
		}
		b = b[k:]
		filters = append(filters, xzFilter{id: id, props: b[:size]})
		b = b[size:]
	}
	return filters, nil
}

func lzma2DictCap(p byte) (int, error) {
	switch {
	case p > 40:
		return 0, fmt.Errorf("bad LZMA2 dictionary size %d", p)
	case p == 40:
		return 1<<32 - 1, nil
	}
	return (2 | int(p&1)) << (p/2 + 11), nil
}

// unBCJX86 undoes the x86 branch/call/jump filter in place, for a buffer
// that starts at stream offset 0 (xz-embedded's bcj_x86, in one pass).
func unBCJX86(buf []byte) {
	allowed := [8]bool{true, true, true, false, true, false, false, false}
	bitNum := [8]uint32{0, 1, 2, 2, 3, 3, 3, 3}
	msb := func(b byte) bool { return b == 0x00 || b == 0xFF }
	if len(buf) <= 4 {
		return
	}
	size := len(buf) - 4
	prevPos := -1
	var prevMask uint32
	for i := 0; i < size; i++ {
		if buf[i]&0xFE != 0xE8 {
			continue
		}
		d := i - prevPos
		if d > 3 {
			prevMask = 0
		} else {
			prevMask = (prevMask << (d - 1)) & 7
			if prevMask != 0 {
				b := buf[i+4-int(bitNum[prevMask])]
				if !allowed[prevMask] || msb(b) {
					prevPos = i
					prevMask = prevMask<<1 | 1
					continue
				}
			}
		}
		prevPos = i
		if !msb(buf[i+4]) {
			prevMask = prevMask<<1 | 1
			continue
		}
		src := binary.LittleEndian.Uint32(buf[i+1:])
		var dest uint32
		for {
			dest = src - uint32(i+5)
			if prevMask == 0 {
				break
			}
			j := bitNum[prevMask] * 8
			if !msb(byte(dest >> (24 - j))) {
				break
			}
			src = dest ^ (1<<(32-j) - 1)
		}
		dest &= 0x01FFFFFF
		dest |= -(dest & 0x01000000)
		binary.LittleEndian.PutUint32(buf[i+1:], dest)
		i += 4
	}
}

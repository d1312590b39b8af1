package machine

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// The ext2/3/4 superblock starts at byte 1024; its magic number sits
// 0x38 bytes in.
const (
	ext4MagicOffset = 1024 + 0x38
	ext4Magic       = 0xEF53
	// diskProbeSize is how much of the data disk is read to decide what
	// it holds: partition tables, file system superblocks and boot
	// sectors all start within it.
	diskProbeSize = 1 << 20
)

// diskContent is what the start of a data disk says about it.
type diskContent int

const (
	// diskBlank reads as zeros: a new (sparse) disk image, to format.
	diskBlank diskContent = iota
	// diskExt4 holds an ext2/3/4 file system, to mount as it is.
	diskExt4
	// diskForeign holds something else, which skiff must not destroy.
	diskForeign
)

func (c diskContent) String() string {
	switch c {
	case diskBlank:
		return "blank"
	case diskExt4:
		return "ext4"
	case diskForeign:
		return "foreign"
	}
	return fmt.Sprintf("diskContent(%d)", int(c))
}

// classifyDisk tells from head, the first bytes of a disk (diskProbeSize
// of them, or the whole disk if it is smaller), whether it is blank,
// holds an ext4 file system, or holds anything else. Only a blank disk
// may be formatted: a disk with data on it is never overwritten unless
// the user asks for it.
func classifyDisk(head []byte) diskContent {
	if len(head) >= ext4MagicOffset+2 && binary.LittleEndian.Uint16(head[ext4MagicOffset:]) == ext4Magic {
		return diskExt4
	}
	if allZero(head) {
		return diskBlank
	}
	return diskForeign
}

func allZero(b []byte) bool {
	var zeros [4096]byte
	for len(b) > 0 {
		n := min(len(b), len(zeros))
		if !bytes.Equal(b[:n], zeros[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}

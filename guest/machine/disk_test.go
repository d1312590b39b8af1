package machine

import (
	"encoding/binary"
	"testing"
)

func TestClassifyDisk(t *testing.T) {
	withExt4 := func(b []byte) []byte {
		binary.LittleEndian.PutUint16(b[ext4MagicOffset:], ext4Magic)
		return b
	}
	set := func(b []byte, off int, v ...byte) []byte {
		copy(b[off:], v)
		return b
	}
	mib := func() []byte { return make([]byte, diskProbeSize) }
	for _, tc := range []struct {
		name string
		head []byte
		want diskContent
	}{
		{"new sparse disk", mib(), diskBlank},
		{"disk smaller than the probe, zeros", make([]byte, 64<<10), diskBlank},
		{"empty read", nil, diskBlank},
		{"ext4", withExt4(mib()), diskExt4},
		{"ext4 with a boot sector", set(withExt4(mib()), 0, 0xeb, 0x3c, 0x90), diskExt4},
		{"MBR partition table", set(mib(), 510, 0x55, 0xaa), diskForeign},
		{"GPT header", set(mib(), 512, []byte("EFI PART")...), diskForeign},
		{"XFS superblock", set(mib(), 0, []byte("XFSB")...), diskForeign},
		{"one byte near the end of the probe", set(mib(), diskProbeSize-1, 1), diskForeign},
		{"byte-swapped ext4 magic", set(mib(), ext4MagicOffset, 0xef, 0x53), diskForeign},
		{"too short to hold a superblock, not zero", []byte{1, 2, 3}, diskForeign},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := classifyDisk(tc.head); got != tc.want {
				t.Errorf("classifyDisk = %v, want %v", got, tc.want)
			}
		})
	}
}

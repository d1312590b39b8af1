package emulation

import (
	"os"

	"golang.org/x/sys/unix"
)

// dropCache drops f's pages, written and synced, from the page cache: an
// interpreter is read again only when an emulated container runs, and
// until then its pages would hold the machine's memory.
func dropCache(f *os.File) {
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}

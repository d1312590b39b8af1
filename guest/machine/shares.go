package machine

import (
	"fmt"
	"strings"

	"github.com/skiffrun/skiff/guest/api/wire"
)

// 9p message sizes: large messages make big reads and writes fast
// (virtio's ring caps them near 512 KB); Hyper-V's server takes 64 KiB,
// as hcsshim's guest asks.
const (
	msize9PVirtio = 512000
	msize9PVsock  = 65536
)

// shareMount is what mount(2) needs for a share.
type shareMount struct {
	source, fstype, data string
	readOnly             bool
}

// mountFor returns the mount of share s. For 9p over vsock, fd is the
// connected socket the kernel's 9p client reads and writes.
func mountFor(s wire.Share, fd int) (shareMount, error) {
	m := shareMount{source: s.Tag, readOnly: s.ReadOnly}
	// cache=mmap keeps host-side changes visible at once (docker users
	// edit files on the host while a container reads them), and still
	// lets programs mmap shared files.
	opts9p := func(msize int) []string {
		return []string{"version=9p2000.L", fmt.Sprintf("msize=%d", msize), "cache=mmap"}
	}
	switch s.FSType {
	case wire.FSVirtiofs:
		m.fstype = "virtiofs"
	case wire.FS9P:
		m.fstype = "9p"
		m.data = strings.Join(append([]string{"trans=virtio"}, opts9p(msize9PVirtio)...), ",")
	case wire.FS9PVsock:
		if fd < 0 {
			return shareMount{}, fmt.Errorf("share %s: 9p over vsock needs a connection", s.Tag)
		}
		m.fstype = "9p"
		// Hyper-V serves every share on one port and tells them apart by
		// the attach name.
		m.data = strings.Join(append([]string{"trans=fd", fmt.Sprintf("rfdno=%d", fd), fmt.Sprintf("wfdno=%d", fd), "aname=" + s.Tag}, opts9p(msize9PVsock)...), ",")
	default:
		return shareMount{}, fmt.Errorf("share %s: unknown file system %q", s.Tag, s.FSType)
	}
	return m, nil
}

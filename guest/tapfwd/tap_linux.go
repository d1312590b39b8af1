package tapfwd

import (
	"fmt"
	"os"

	"github.com/vishvananda/netlink"
)

// OpenTAP makes the TAP device name (IFF_TAP|IFF_NO_PI: each read and
// write is one bare Ethernet frame) in the calling thread's network
// namespace and returns its file, whose reads and writes go through the
// runtime's poller. The device lives while the file is open: closing it
// removes the interface.
func OpenTAP(name string) (*os.File, error) {
	tap := &netlink.Tuntap{
		LinkAttrs:  netlink.LinkAttrs{Name: name},
		Mode:       netlink.TUNTAP_MODE_TAP,
		Flags:      netlink.TUNTAP_NO_PI,
		Queues:     1,
		NonPersist: true,
	}
	if err := netlink.LinkAdd(tap); err != nil {
		return nil, fmt.Errorf("make TAP device %s: %w", name, err)
	}
	return tap.Fds[0], nil
}

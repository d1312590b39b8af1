package tapfwd

import (
	"fmt"
	"os"

	"github.com/vishvananda/netlink"
)

// openTAP asks netlink's Tuntap for the device: it opens /dev/net/tun,
// sets the interface, and only then makes the descriptor non-blocking
// (the order epoll needs for a TUN file).
func openTAP(name string) (*os.File, error) {
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

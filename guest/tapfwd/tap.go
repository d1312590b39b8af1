package tapfwd

import "os"

// OpenTAP makes the TAP device name (IFF_TAP|IFF_NO_PI: each read and
// write is one bare Ethernet frame) in the calling thread's network
// namespace and returns its file, whose reads and writes go through the
// runtime's poller, so that deadlines and Close stop them. The device
// lives while the file is open: closing it removes the interface. Only
// Linux has TAP devices; elsewhere it fails with errors.ErrUnsupported.
func OpenTAP(name string) (*os.File, error) { return openTAP(name) }

package machine

import (
	"runtime"

	"github.com/skiffrun/skiff/platform"
)

// defaultNetwork is a machine's network unless set: the user-mode stack
// on every OS, whose drivers all attach it (HCS by relaying the guest's
// hvsock link), so the machine's connections are the host's own.
func defaultNetwork() string { return NetworkUser }

// userNetwork is the user-mode network of the machine in dir, with the
// links its OS's drivers use: QEMU dials the stream socket; vz attaches
// the datagram socket; HCS relays the guest's vsock connection onto the
// stream socket.
func userNetwork(dir string) platform.Network {
	n := platform.UserNetwork(dir)
	switch runtime.GOOS {
	case "darwin":
		n.Link.Datagram = platform.UserDatagram(dir)
	case "windows":
		n.Link.VsockPort = platform.UserNetVsockPort
	}
	return n
}

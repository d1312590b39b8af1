//go:build !unix

package dockerapi

import (
	"context"
	"net"
)

// waitHangup cannot see a named pipe's full close apart from a
// half-close; the attach ends at the next failed write.
func waitHangup(context.Context, net.Conn) error { return errNoHangupNotice }

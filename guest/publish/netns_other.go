//go:build !linux

package publish

import (
	"context"
	"net"
)

// dialTCP connects to addr: network namespaces are Linux's.
func dialTCP(ctx context.Context, _, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

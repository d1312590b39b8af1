package dockerapi

import (
	"context"
	"errors"
	"io"
	"net"
)

// errNoHangupNotice is what waitHangup answers on a connection whose
// full close cannot be told from a half-close without writing to it (TCP,
// Windows named pipes): there, a client that went away is noticed at the
// next write, as docker notices it.
var errNoHangupNotice = errors.New("the connection does not tell a hang-up from a half-close")

// watchClient reads what a client that attached no stdin sends — nothing,
// then an EOF when it half-closes (the docker CLI does so at once), which
// is no hang-up: it still reads — and calls gone once the client has
// closed its whole connection, so that the attach ends then rather than at
// the container's next write.
func watchClient(ctx context.Context, conn net.Conn, in io.Reader, gone func()) {
	_, err := io.Copy(io.Discard, in)
	if err != nil {
		// A reset, or the handler closed the connection itself.
		gone()
		return
	}
	if err := waitHangup(ctx, conn); err == nil {
		gone()
	}
}

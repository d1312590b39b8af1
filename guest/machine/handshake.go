package machine

import (
	"context"
	"fmt"
	"io"

	"github.com/skiffrun/skiff/guest/api/wire"
)

// handshake starts every connection to the host, before yamux: it reads
// from r until it has read the host's hello (wire.ReadHello, which calls
// idle on io.EOF), then answers wire.OK on w.
func handshake(ctx context.Context, r io.Reader, w io.Writer, idle func(context.Context) error) error {
	if err := wire.ReadHello(ctx, r, idle); err != nil {
		return err
	}
	if _, err := w.Write([]byte(wire.OK)); err != nil {
		return fmt.Errorf("write agent hello: %w", err)
	}
	return nil
}

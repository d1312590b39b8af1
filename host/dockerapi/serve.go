package dockerapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// SocketFile is the docker socket's name in the machine's directory.
const SocketFile = "docker.sock"

// Listen listens on the machine's docker socket: a unix socket at path,
// owner-only in an owner-only directory (on Windows, a named pipe for
// the machine with an owner-only security descriptor).
func Listen(path, machine string) (net.Listener, error) {
	l, err := listen(path, machine)
	if err != nil {
		return nil, fmt.Errorf("listen on the docker socket: %w", err)
	}
	return l, nil
}

// Serve serves h on l until ctx ends, then gives open requests a moment
// to finish. Hijacked streams (attach, exec) are closed with their
// requests' contexts.
func Serve(ctx context.Context, l net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		_ = srv.Close()
	}()
	err := srv.Serve(l)
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

package stream

import (
	"context"
	"os"
	"os/signal"
)

// Kill delivers a signal, named as the API names them ("SIGINT"), to the
// container.
type Kill func(ctx context.Context, signal string) error

// ProxySignals forwards the signals the user sends skiff (ctrl-c's SIGINT,
// kill's SIGTERM, ...) to the container, as docker's --sig-proxy does for
// a container without a terminal, until stop is called. A failed delivery
// is dropped: the container may just have exited.
func ProxySignals(ctx context.Context, kill Kill) (stop func()) {
	ch := make(chan os.Signal, 16)
	notify(ch)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case sig := <-ch:
				if name, ok := signalName(sig); ok {
					_ = kill(ctx, name)
				}
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		cancel()
		<-done
	}
}

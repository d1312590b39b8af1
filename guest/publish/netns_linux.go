package publish

import (
	"context"
	"fmt"
	"net"
	"runtime"

	"github.com/vishvananda/netns"
)

// dialTCP connects to addr from inside the network namespace at nsPath
// ("" for the agent's own).
func dialTCP(ctx context.Context, nsPath, addr string) (net.Conn, error) {
	if nsPath == "" {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
	return dialIn(ctx, nsPath, addr)
}

// dialIn connects to addr from the network namespace at nsPath: a socket
// belongs to the namespace it is made in, whichever thread uses it
// later. The dial runs on a thread of its own that returns to the
// agent's namespace; should that fail, the thread stays locked and Go
// ends it with the goroutine, so no other code runs in the wrong
// namespace.
func dialIn(ctx context.Context, nsPath, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("open the agent's netns: %w", err)}
			return
		}
		defer func() { _ = orig.Close() }()
		ns, err := netns.GetFromPath(nsPath)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("open netns %s: %w", nsPath, err)}
			return
		}
		defer func() { _ = ns.Close() }()
		if err := netns.Set(ns); err != nil {
			_ = netns.Set(orig)
			ch <- result{err: fmt.Errorf("enter netns %s: %w", nsPath, err)}
			return
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if serr := netns.Set(orig); serr != nil {
			if c != nil {
				_ = c.Close()
			}
			ch <- result{err: fmt.Errorf("return to the agent's netns: %w", serr)}
			return
		}
		runtime.UnlockOSThread()
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

package publish

import (
	"fmt"
	"net"
	"runtime"
	"time"

	"github.com/vishvananda/netns"
)

// proxyTCPIn is ProxyTCP with the connection to target made from inside
// the network namespace at nsPath ("" for the agent's own).
func proxyTCPIn(client net.Conn, target, nsPath string) error {
	if nsPath == "" {
		return ProxyTCP(client, target)
	}
	defer client.Close()
	backend, err := dialIn(nsPath, target)
	if err != nil {
		return err
	}
	defer backend.Close()
	pipe(client, backend)
	return nil
}

// dialIn connects to addr from the network namespace at nsPath: a socket
// belongs to the namespace it is made in, whichever thread uses it
// later. The dial runs on a thread of its own that returns to the
// agent's namespace; should that fail, the thread stays locked and Go
// ends it with the goroutine, so no other code runs in the wrong
// namespace.
func dialIn(nsPath, addr string) (net.Conn, error) {
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
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
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

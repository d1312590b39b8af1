package hcs

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sync"
)

// RelayUserNetwork accepts the guest's network links on l (hvsock, the
// user network's vsock port) and carries each, byte for byte, onto a new
// connection to the user-mode stack's stream socket stream: the guest
// frames its Ethernet frames as the socket does (guest/tapfwd), so the
// relay reads none of them. When either end of a pair closes, both do;
// a guest that finds the stack away dials again. It returns when l
// fails or closes, once every relay has ended: nil for a closed l.
func RelayUserNetwork(l net.Listener, stream string) error {
	var (
		mu     sync.Mutex
		live   = map[net.Conn]bool{}
		closed bool
		wg     sync.WaitGroup
	)
	// track adds c to the live connections, or closes it when the relay
	// is ending; untrack removes it.
	track := func(c net.Conn) bool {
		mu.Lock()
		defer mu.Unlock()
		if closed {
			_ = c.Close()
			return false
		}
		live[c] = true
		return true
	}
	untrack := func(c net.Conn) {
		mu.Lock()
		delete(live, c)
		mu.Unlock()
	}
	defer func() {
		mu.Lock()
		closed = true
		for c := range live {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()
	for {
		guest, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed) {
				return nil
			}
			return fmt.Errorf("hcs: accept the guest's network link: %w", err)
		}
		if !track(guest) {
			return nil
		}
		wg.Go(func() {
			defer untrack(guest)
			defer guest.Close()
			stack, err := net.Dial("unix", stream)
			if err != nil {
				log.Printf("skiff: the guest's network link: %v", err)
				return
			}
			if !track(stack) {
				return
			}
			defer untrack(stack)
			defer stack.Close()
			splice(guest, stack)
		})
	}
}

// splice copies a to b and b to a until either side ends, then closes
// both and returns when both copies have.
func splice(a, b net.Conn) {
	var once sync.Once
	done := func() {
		once.Do(func() {
			_ = a.Close()
			_ = b.Close()
		})
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		_, _ = io.Copy(b, a)
		done()
	})
	_, _ = io.Copy(a, b)
	done()
	wg.Wait()
}

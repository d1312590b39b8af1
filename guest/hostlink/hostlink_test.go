package hostlink

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/skiffrun/skiff/guest/api/wire"
)

// pipeOpener opens net.Pipe streams whose far end reports the service
// header it read on names.
type pipeOpener struct{ names chan string }

func (p pipeOpener) Open() (net.Conn, error) {
	a, b := net.Pipe()
	go func() {
		defer b.Close()
		name, err := wire.ReadService(b)
		if err != nil {
			name = "error: " + err.Error()
		}
		p.names <- name
		_, _ = io.Copy(io.Discard, b)
	}()
	return a, nil
}

func TestDialWaitsForASession(t *testing.T) {
	l := New()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := l.Dial(ctx, wire.ServiceDocker); err == nil {
		t.Fatal("Dial with no session succeeded")
	}
	o := pipeOpener{names: make(chan string, 1)}
	go func() {
		time.Sleep(50 * time.Millisecond)
		l.Up(context.Background(), o)
	}()
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := l.Dial(ctx, wire.ServiceDocker)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := <-o.names; got != wire.ServiceDocker {
		t.Fatalf("the host read service %q, want %q", got, wire.ServiceDocker)
	}
}

func TestOnSessionHearsOfEachSession(t *testing.T) {
	l := New()
	type call struct {
		ctx  context.Context
		dial Dial
	}
	calls := make(chan call, 4)
	l.OnSession(func(ctx context.Context, dial Dial) { calls <- call{ctx, dial} })
	o := pipeOpener{names: make(chan string, 4)}
	for range 2 {
		ctx, down := context.WithCancel(context.Background())
		l.Up(ctx, o)
		var c call
		select {
		case c = <-calls:
		case <-time.After(10 * time.Second):
			t.Fatal("OnSession's function was not called for a session")
		}
		conn, err := c.dial(context.Background(), wire.ServiceGRPC)
		if err != nil {
			t.Fatal(err)
		}
		conn.Close()
		if got := <-o.names; got != wire.ServiceGRPC {
			t.Fatalf("the host read service %q", got)
		}
		down()
		<-c.ctx.Done()
		if _, err := c.dial(context.Background(), wire.ServiceGRPC); err == nil {
			t.Fatal("a session's dial worked after the session ended")
		}
	}
}

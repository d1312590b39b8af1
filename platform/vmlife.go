package platform

import (
	"context"
	"fmt"
	"net"
	"sync"
)

// VMLife is what a hypervisor driver's Machine keeps of a VM that runs
// beside its own process: whether and how the VM has ended, and the
// connections the agent makes to the host's listener, handed one by one
// to AgentConn. Embedded in a driver's machine it provides AgentConn and
// Wait. Its methods are safe for concurrent use.
type VMLife struct {
	name  string
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
	err   error
}

// NewVMLife returns the life of machine name, running.
func NewVMLife(name string) *VMLife {
	return &VMLife{name: name, conns: make(chan net.Conn), done: make(chan struct{})}
}

// End records that the VM has stopped: err is nil for a clean power-off,
// and why otherwise. Only the first call counts.
func (l *VMLife) End(err error) {
	l.once.Do(func() {
		l.err = err
		close(l.done)
	})
}

// Done is closed once the VM has stopped.
func (l *VMLife) Done() <-chan struct{} { return l.done }

// Offer hands c, a connection the agent made, to a caller of AgentConn,
// waiting for one. Once the VM has stopped it closes c instead and
// reports false: the accepting loop should end.
func (l *VMLife) Offer(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.done:
		_ = c.Close()
		return false
	}
}

// AgentConn returns the next connection the agent makes to the host.
func (l *VMLife) AgentConn(ctx context.Context) (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, l.StoppedErr()
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for the agent of machine %q: %w", l.name, ctx.Err())
	}
}

// Wait returns once the VM has stopped: nil when the guest powered off.
func (l *VMLife) Wait(ctx context.Context) error {
	select {
	case <-l.done:
		return l.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// StoppedErr is the error for using the machine once it has stopped.
func (l *VMLife) StoppedErr() error {
	select {
	case <-l.done:
	default:
		return nil
	}
	if l.err != nil {
		return fmt.Errorf("machine %q stopped: %w", l.name, l.err)
	}
	return fmt.Errorf("machine %q stopped", l.name)
}

package platform

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

func TestVMLife(t *testing.T) {
	l := NewVMLife("dev")
	if err := l.StoppedErr(); err != nil {
		t.Fatalf("StoppedErr of a running machine = %v", err)
	}
	a, b := net.Pipe()
	defer b.Close()
	offered := make(chan bool, 1)
	go func() { offered <- l.Offer(a) }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := l.AgentConn(ctx)
	if err != nil || c != a || !<-offered {
		t.Fatalf("AgentConn = %v, %v; want the offered connection", c, err)
	}

	short, cancelShort := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancelShort()
	if _, err := l.AgentConn(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("AgentConn with no connection = %v, want the deadline", err)
	}
	if err := l.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait on a running machine = %v, want the deadline", err)
	}

	crash := errors.New("the VM exited unexpectedly")
	l.End(crash)
	l.End(nil) // only the first end counts
	if err := l.Wait(ctx); !errors.Is(err, crash) {
		t.Errorf("Wait = %v, want %v", err, crash)
	}
	if _, err := l.AgentConn(ctx); !errors.Is(err, crash) || !strings.Contains(err.Error(), `machine "dev" stopped`) {
		t.Errorf("AgentConn after the end = %v", err)
	}
	x, y := net.Pipe()
	defer y.Close()
	if l.Offer(x) {
		t.Error("Offer after the end handed the connection on")
	}
	if _, err := x.Write([]byte("x")); err == nil {
		t.Error("Offer after the end left the connection open")
	}
}

package hcs

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/Microsoft/go-winio"
)

// consolePipe is the named pipe of the machine's COM1. The VM worker
// process creates and serves it once the VM starts; skiff is its client.
func consolePipe(id string) string { return `\\.\pipe\` + id + "-console" }

// drainConsole copies the VM's COM1 into logPath until the VM stops (its
// end of the pipe closes) or stop is closed, so the console never blocks
// the guest and `skiff machine logs` shows the boot.
func drainConsole(pipe, logPath string, stop <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-stop
		cancel()
	}()
	defer cancel()
	var c net.Conn
	for {
		var err error
		dctx, dcancel := context.WithTimeout(ctx, time.Second)
		c, err = winio.DialPipeContext(dctx, pipe)
		dcancel()
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	go func() {
		<-ctx.Done()
		c.Close()
	}()
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		c.Close()
		return
	}
	defer f.Close()
	if _, err := io.Copy(f, c); err != nil && ctx.Err() == nil {
		fmt.Fprintf(f, "\nskiff: console: %v\n", err)
	}
}

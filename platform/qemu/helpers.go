//go:build linux || darwin

package qemu

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// helper is one process a machine runs: QEMU, or a virtiofsd. Its output
// goes to the machine's qemu.log, and its last line is kept, so that a
// helper that dies says why in its own words, at once.
type helper struct {
	// name says which helper it is in errors ("qemu", "virtiofsd for /home").
	name   string
	cmd    *exec.Cmd
	out    *tailWriter
	exited chan struct{} // closed once the process has been reaped
	err    error         // its exit status; read after exited closes
}

// startHelper starts argv with its output appended to logf, and reaps it
// in the background.
func startHelper(name string, argv []string, logf io.Writer) (*helper, error) {
	h := &helper{name: name, out: &tailWriter{w: logf}, exited: make(chan struct{})}
	h.cmd = exec.Command(argv[0], argv[1:]...)
	// One writer for both streams: exec copies both through one pipe.
	h.cmd.Stdout, h.cmd.Stderr = h.out, h.out
	h.cmd.SysProcAttr = sysProcAttr()
	if err := h.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, argv[0], err)
	}
	go func() {
		h.err = h.cmd.Wait()
		close(h.exited)
	}()
	return h, nil
}

// failure describes the helper's exit: its status and its last line.
func (h *helper) failure() error {
	status := "exited"
	if h.err != nil {
		status = "exited: " + h.err.Error()
	}
	if l := h.out.last(); l != "" {
		return fmt.Errorf("%s %s: %s", h.name, status, l)
	}
	return fmt.Errorf("%s %s, saying nothing", h.name, status)
}

// kill ends the helper and waits until it has been reaped, at most
// killGrace.
func (h *helper) kill() {
	if h.cmd.Process != nil {
		_ = h.cmd.Process.Kill()
	}
	select {
	case <-h.exited:
	case <-time.After(killGrace):
	}
}

// waitSocket waits until path exists, failing at once with the helper's
// own words when it exits first, or when ctx ends.
func waitSocket(ctx context.Context, path string, h *helper) error {
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		select {
		case <-h.exited:
			return h.failure()
		case <-ctx.Done():
			return fmt.Errorf("%s: its socket %s did not appear: %w", h.name, path, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// maxLine bounds the partial line a tailWriter holds.
const maxLine = 4096

// tailWriter passes output through to w and keeps its last non-empty
// line.
type tailWriter struct {
	w io.Writer

	mu      sync.Mutex
	partial []byte // the line being written, up to maxLine bytes
	line    string // the last complete non-empty line
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	for rest := p; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			t.partial = appendCapped(t.partial, rest)
			break
		}
		t.partial = appendCapped(t.partial, rest[:i])
		if l := strings.TrimSpace(string(t.partial)); l != "" {
			t.line = l
		}
		t.partial = t.partial[:0]
		rest = rest[i+1:]
	}
	t.mu.Unlock()
	// The log's failure must not stop the helper: its output is dropped.
	_, _ = t.w.Write(p)
	return len(p), nil
}

func appendCapped(b, p []byte) []byte {
	if room := maxLine - len(b); len(p) > room {
		p = p[:max(room, 0)]
	}
	return append(b, p...)
}

// last is the last non-empty line written, an unterminated one included.
func (t *tailWriter) last() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if l := strings.TrimSpace(string(t.partial)); l != "" {
		return l
	}
	return t.line
}

package container

import (
	"fmt"
	"sync"

	"github.com/containerd/errdefs"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// subscriber is a client attached to a container's output.
type subscriber struct {
	out            chan *apiv1.StreamOutput
	stdout, stderr bool
	// gone is closed when the client leaves; ended when the container's
	// run ends and nothing more will be sent.
	gone, ended chan struct{}
	endOnce     sync.Once
}

func newSubscriber(stdout, stderr bool) *subscriber {
	return &subscriber{
		out:    make(chan *apiv1.StreamOutput, 64),
		stdout: stdout, stderr: stderr,
		gone:  make(chan struct{}),
		ended: make(chan struct{}),
	}
}

// send delivers msg unless the client has left; a slow client slows the
// container's output, as with Docker.
func (s *subscriber) send(msg *apiv1.StreamOutput) {
	if o := msg.GetOutput(); o != nil {
		if (o.Stream == apiv1.StreamKind_STREAM_STDERR && !s.stderr) || (o.Stream != apiv1.StreamKind_STREAM_STDERR && !s.stdout) {
			return
		}
	}
	select {
	case s.out <- msg:
	case <-s.gone:
	}
}

func (s *subscriber) end() { s.endOnce.Do(func() { close(s.ended) }) }

// attachState is the part of a container that attached clients share; it
// has its own lock so that output never waits for a start or stop.
type attachState struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	width  uint16
	height uint16
}

// attach registers s for c's output. It fails unless c is running or
// about to be started by the caller.
func (c *ctr) attach(s *subscriber, willStart bool) error {
	c.mu.Lock()
	running := c.run != nil
	removed := c.removed
	c.mu.Unlock()
	if removed {
		return fmt.Errorf("No such container: %s: %w", c.rec.Id, errdefs.ErrNotFound)
	}
	if !running && !willStart {
		return fmt.Errorf("you cannot attach to a stopped container, start it first (skiff start -a %s): %w", c.rec.Name, errdefs.ErrConflict)
	}
	c.att.mu.Lock()
	c.att.subs[s] = struct{}{}
	c.att.mu.Unlock()
	return nil
}

func (c *ctr) detach(s *subscriber) {
	c.att.mu.Lock()
	delete(c.att.subs, s)
	c.att.mu.Unlock()
}

func (c *ctr) broadcast(msg *apiv1.StreamOutput) {
	c.att.mu.Lock()
	subs := make([]*subscriber, 0, len(c.att.subs))
	for s := range c.att.subs {
		subs = append(subs, s)
	}
	c.att.mu.Unlock()
	for _, s := range subs {
		s.send(msg)
	}
}

// takeSubscribers detaches every client, at the end of a run.
func (c *ctr) takeSubscribers() []*subscriber {
	c.att.mu.Lock()
	defer c.att.mu.Unlock()
	subs := make([]*subscriber, 0, len(c.att.subs))
	for s := range c.att.subs {
		subs = append(subs, s)
	}
	c.att.subs = map[*subscriber]struct{}{}
	return subs
}

func (c *ctr) setSize(w, h uint16) {
	c.att.mu.Lock()
	c.att.width, c.att.height = w, h
	c.att.mu.Unlock()
}

func (c *ctr) size() (uint16, uint16) {
	c.att.mu.Lock()
	defer c.att.mu.Unlock()
	return c.att.width, c.att.height
}

// writeStdin passes a client's input to the running process.
func (c *ctr) writeStdin(data []byte) error {
	c.mu.Lock()
	ex := c.run
	c.mu.Unlock()
	if ex == nil || ex.stdin == nil {
		return nil
	}
	_, err := ex.stdin.Write(data)
	return err
}

// closeStdin ends the running process's input when the container was
// created with stdin_once (docker run -i): the first client to close its
// input closes the container's.
func (c *ctr) closeStdin() {
	c.mu.Lock()
	ex := c.run
	once := c.rec.Config.StdinOnce
	c.mu.Unlock()
	if ex != nil && once && (ex.proc == nil || ex.proc.Console() == nil) {
		ex.closeStdin()
	}
}

// resize sets the terminal size of the running process.
func (c *ctr) resize(w, h uint16) error {
	c.setSize(w, h)
	c.mu.Lock()
	ex := c.run
	c.mu.Unlock()
	if ex == nil || ex.proc == nil || ex.proc.Console() == nil {
		return nil
	}
	return ex.proc.Resize(w, h)
}

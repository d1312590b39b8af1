package machine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/skiffrun/skiff/guest/api/portfwd"
	"github.com/skiffrun/skiff/guest/api/wire"
	"github.com/skiffrun/skiff/guest/hostlink"
)

// dockerDialWait bounds how long a connection to the machine's docker
// socket waits for the host to be connected: a client gets its
// connection closed rather than hanging while the host is away.
const dockerDialWait = 30 * time.Second

// dockerSocket is the machine's /var/run/docker.sock: the Docker API of
// the host daemon, which containers reach by binding it. Each connection
// is carried on a stream of its own to the daemon (wire.ServiceDocker),
// byte for byte, half-closes included, so hijacked attach and exec
// streams behave as on the host's socket.
type dockerSocket struct {
	l    net.Listener
	log  *slog.Logger
	link *hostlink.Link

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// listenDockerSocket listens on path (wire.DockerSocket), root's and its
// group's only, as dockerd's is.
func listenDockerSocket(path string, link *hostlink.Link, log *slog.Logger) (*dockerSocket, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("docker socket: %w", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("docker socket: %w", err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("docker socket: %w", err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		_ = l.Close() // it serves nobody yet
		return nil, fmt.Errorf("docker socket: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &dockerSocket{l: l, log: log, link: link, ctx: ctx, cancel: cancel}, nil
}

// serve accepts connections until Close.
func (d *dockerSocket) serve() {
	for {
		c, err := d.l.Accept()
		if err != nil {
			return
		}
		d.wg.Go(func() { d.carry(c) })
	}
}

// carry joins c to a stream to the host daemon's Docker API.
func (d *dockerSocket) carry(c net.Conn) {
	stop := context.AfterFunc(d.ctx, func() { c.Close() })
	defer stop()
	dctx, cancel := context.WithTimeout(d.ctx, dockerDialWait)
	h, err := d.link.Dial(dctx, wire.ServiceDocker)
	cancel()
	if err != nil {
		d.log.Debug("docker socket", "err", err)
		c.Close()
		return
	}
	stopHost := context.AfterFunc(d.ctx, func() { h.Close() })
	defer stopHost()
	portfwd.Pipe(c, h)
}

// Close stops listening, ends the connections it carries and waits for
// them.
func (d *dockerSocket) Close() {
	_ = d.l.Close() // its socket file goes with it
	d.cancel()
	d.wg.Wait()
}

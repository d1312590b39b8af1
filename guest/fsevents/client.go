package fsevents

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/hostlink"
)

// window is the gRPC flow-control window of the stream from the host:
// with one batch (at most 1,024 events) being replayed, it bounds what
// of a storm the agent holds, whatever the host sends; past it the host
// waits, and coalesces.
const window = 256 << 10

// retryWait is how long the agent waits before watching again after the
// stream failed while the session lives.
const retryWait = time.Second

// Event is one change to replay, at its guest path.
type Event struct {
	Path   string
	Change apiv1.FileChange
	Dir    bool
}

// Replayer re-creates host changes in the guest, for its inotify
// watchers. It is called from one goroutine at a time.
type Replayer interface {
	// Replay replays a batch: its events, and a signal on each rescanned
	// folder.
	Replay(events []Event, rescan []string)
}

// Client watches, through the host daemon, the shared folders that
// running containers bind-mount, and replays their changes. SetBinds
// and Connect are safe for concurrent use.
type Client struct {
	log *slog.Logger
	m   *Mapper
	r   Replayer

	mu      sync.Mutex
	roots   []*apiv1.FilePath
	changed chan struct{} // closed and replaced when roots change
}

// NewClient returns a Client of the shares m maps, replaying with r.
func NewClient(log *slog.Logger, m *Mapper, r Replayer) *Client {
	return &Client{log: log, m: m, r: r, changed: make(chan struct{})}
}

// SetBinds makes the folders watched those under the bind sources
// (guest paths) of the running containers.
func (c *Client) SetBinds(sources []string) {
	roots := c.m.Roots(sources)
	c.mu.Lock()
	defer c.mu.Unlock()
	if slices.EqualFunc(roots, c.roots, func(a, b *apiv1.FilePath) bool { return proto.Equal(a, b) }) {
		return
	}
	c.roots = roots
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *Client) current() ([]*apiv1.FilePath, chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.roots, c.changed
}

// Connect watches through the daemon reached with dial for as long as
// ctx lasts (one session). It is what guest/machine has hostlink call
// for each session.
func (c *Client) Connect(ctx context.Context, dial hostlink.Dial) {
	cc, err := hostlink.NewClient(dial, grpc.WithInitialWindowSize(window), grpc.WithInitialConnWindowSize(window))
	if err != nil {
		c.log.Error("connect to the host daemon's file events", "err", err)
		return
	}
	defer func() { _ = cc.Close() }()
	fe := apiv1.NewFileEventsClient(cc)
	for ctx.Err() == nil {
		err := c.watch(ctx, fe)
		if ctx.Err() != nil {
			return
		}
		if status.Code(err) == codes.Unimplemented {
			c.log.Info("the host daemon sends no file events")
			return
		}
		c.log.Warn("file events from the host", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(retryWait):
		}
	}
}

// watch runs one Watch stream until it fails.
func (c *Client) watch(ctx context.Context, fe apiv1.FileEventsClient) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := fe.Watch(ctx)
	if err != nil {
		return err
	}
	sendErr := make(chan error, 1)
	go func() {
		var sent []*apiv1.FilePath
		first := true
		for {
			roots, changed := c.current()
			if first || !slices.EqualFunc(roots, sent, func(a, b *apiv1.FilePath) bool { return proto.Equal(a, b) }) {
				if err := stream.Send(&apiv1.FileWatchRequest{Roots: roots}); err != nil {
					sendErr <- err
					cancel()
					return
				}
				first, sent = false, roots
			}
			select {
			case <-changed:
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		b, err := stream.Recv()
		if err != nil {
			select {
			case serr := <-sendErr:
				return errors.Join(err, serr)
			default:
			}
			return err
		}
		c.apply(b)
	}
}

// apply maps a batch to guest paths and replays it.
func (c *Client) apply(b *apiv1.FileEventBatch) {
	events := make([]Event, 0, len(b.GetEvents()))
	for _, ev := range b.GetEvents() {
		p, ok := c.m.Guest(ev.GetPath())
		if !ok {
			continue
		}
		events = append(events, Event{Path: p, Change: ev.GetChange(), Dir: ev.GetDir()})
	}
	var rescan []string
	for _, fp := range b.GetRescan() {
		if p, ok := c.m.Guest(fp); ok {
			rescan = append(rescan, p)
		}
	}
	if len(events) > 0 || len(rescan) > 0 {
		c.r.Replay(events, rescan)
	}
	if c.log.Enabled(context.Background(), slog.LevelDebug) && len(b.GetEvents()) > 0 {
		host := time.Duration(b.GetSentUnixNano() - b.GetEvents()[0].GetSeenUnixNano())
		c.log.Debug("file events replayed", "events", len(events), "rescan", len(rescan), "host", host)
	}
}

package agentclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// Dialer opens one connection to the agent. It may block for as long as
// ctx allows, starting the machine first.
type Dialer func(ctx context.Context) (net.Conn, error)

// connectTimeout bounds one dial. It is longer than a machine start, so the
// dialer's own deadline, with its clearer error, is the one that fires.
const connectTimeout = 60 * time.Second

// Client is a connection to one agent. Nothing is dialled until the first
// call, so building a Client for a command that fails its own validation
// costs nothing. Its methods are safe for concurrent use.
type Client struct {
	Containers apiv1.ContainersClient
	Images     apiv1.ImagesClient
	System     apiv1.SystemClient
	Builder    apiv1.BuilderClient
	Volumes    apiv1.VolumesClient
	Networks   apiv1.NetworksClient
	Events     apiv1.EventsClient
	Freezer    apiv1.FreezerClient
	Archive    apiv1.ArchiveClient
	Stats      apiv1.StatsClient
	History    apiv1.ImageHistoryClient
	Committer  apiv1.CommitterClient
	Changes    apiv1.ChangesClient
	Exporter   apiv1.ExporterClient
	Updater    apiv1.UpdaterClient
	DiskUsage  apiv1.DiskUsageClient
	Waiter     apiv1.WaiterClient
	Emulation  apiv1.EmulationClient
	BuildCache apiv1.BuildCacheClient

	conn *grpc.ClientConn

	mu      sync.Mutex
	dialErr error
}

// New returns a client for the agent listening on the unix socket at
// socket. dial opens each connection; nil dials the socket directly.
func New(socket string, dial Dialer) (*Client, error) {
	if dial == nil {
		dial = func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}
	}
	c := &Client{}
	conn, err := grpc.NewClient("unix://"+socket,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			conn, err := dial(ctx)
			c.mu.Lock()
			c.dialErr = err
			c.mu.Unlock()
			return conn, err
		}),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.DefaultConfig, MinConnectTimeout: connectTimeout}),
		grpc.WithUnaryInterceptor(c.unary),
		grpc.WithStreamInterceptor(c.stream),
	)
	if err != nil {
		return nil, fmt.Errorf("agent client for %s: %w", socket, err)
	}
	c.conn = conn
	c.Containers = apiv1.NewContainersClient(conn)
	c.Images = apiv1.NewImagesClient(conn)
	c.System = apiv1.NewSystemClient(conn)
	c.Builder = apiv1.NewBuilderClient(conn)
	c.Volumes = apiv1.NewVolumesClient(conn)
	c.Networks = apiv1.NewNetworksClient(conn)
	c.Events = apiv1.NewEventsClient(conn)
	c.Freezer = apiv1.NewFreezerClient(conn)
	c.Archive = apiv1.NewArchiveClient(conn)
	c.Stats = apiv1.NewStatsClient(conn)
	c.History = apiv1.NewImageHistoryClient(conn)
	c.Committer = apiv1.NewCommitterClient(conn)
	c.Changes = apiv1.NewChangesClient(conn)
	c.Exporter = apiv1.NewExporterClient(conn)
	c.Updater = apiv1.NewUpdaterClient(conn)
	c.DiskUsage = apiv1.NewDiskUsageClient(conn)
	c.Emulation = apiv1.NewEmulationClient(conn)
	c.Waiter = apiv1.NewWaiterClient(conn)
	c.BuildCache = apiv1.NewBuildCacheClient(conn)
	return c, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

func (c *Client) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return c.native(invoker(ctx, method, req, reply, cc, opts...))
}

func (c *Client) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, c.native(err)
	}
	return &clientStream{ClientStream: s, c: c}, nil
}

// clientStream translates the errors of a stream's messages, leaving io.EOF,
// which is how a stream says it ended, alone.
type clientStream struct {
	grpc.ClientStream
	c *Client
}

func (s *clientStream) SendMsg(m any) error { return s.c.streamErr(s.ClientStream.SendMsg(m)) }

func (s *clientStream) RecvMsg(m any) error { return s.c.streamErr(s.ClientStream.RecvMsg(m)) }

func (c *Client) streamErr(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return err
	}
	return c.native(err)
}

// native turns a gRPC status into an errdefs-categorised error. When the
// connection could not be made, the dialer's own error (which says why, and
// what to do) replaces gRPC's generic "unavailable".
func (c *Client) native(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	if st.Code() == codes.Unavailable {
		c.mu.Lock()
		dialErr := c.dialErr
		c.mu.Unlock()
		if dialErr != nil {
			return dialErr
		}
	}
	return FromStatus(st)
}

// FromStatus converts a status from the agent into a native error: the
// agent's message, unwrapping to the errdefs category of its code, and an
// *ExitError when the status carries an apiv1.ExitStatus detail.
func FromStatus(st *status.Status) error {
	var exit *apiv1.ExitStatus
	for _, d := range st.Details() {
		if e, ok := d.(*apiv1.ExitStatus); ok {
			exit = e
		}
	}
	// Converting the bare status keeps the category and drops the details,
	// which errgrpc would otherwise render as "non-error detail" text.
	cause := errgrpc.ToNative(status.New(st.Code(), st.Message()).Err())
	msg := st.Message()
	if msg == "" {
		msg = cause.Error()
	}
	err := &remoteError{msg: msg, cause: cause}
	if exit != nil {
		return &ExitError{Code: int(exit.GetCode()), Err: err}
	}
	return err
}

// remoteError carries the agent's message as the user should read it,
// while errors.Is still finds the category (errdefs.IsNotFound and such).
type remoteError struct {
	msg   string
	cause error
}

func (e *remoteError) Error() string {
	// errgrpc-style messages end in their category ("...: not found"),
	// which is for code to test, not for the user to read. Categories
	// that read as plain words ("permission denied") stay.
	for _, cls := range labels {
		if errors.Is(e.cause, cls) {
			if m, ok := strings.CutSuffix(e.msg, ": "+cls.Error()); ok {
				return m
			}
		}
	}
	return e.msg
}

// labels are the errdefs categories whose names are labels, not words of
// the message.
var labels = []error{
	errdefs.ErrNotFound, errdefs.ErrAlreadyExists, errdefs.ErrInvalidArgument,
	errdefs.ErrFailedPrecondition, errdefs.ErrConflict, errdefs.ErrUnavailable,
	errdefs.ErrUnknown, errdefs.ErrInternal, errdefs.ErrNotImplemented,
}

func (e *remoteError) Unwrap() error { return e.cause }

// ExitError is a failure after which the CLI must exit with Code rather
// than its generic 125: 126 when a command cannot be executed, 127 when it
// does not exist.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }

func (e *ExitError) Unwrap() error { return e.Err }

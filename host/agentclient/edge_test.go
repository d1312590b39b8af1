package agentclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/containerd/errdefs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/test/bufconn"

	"github.com/skiffrun/skiff/guest/api/errstatus"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// commandError fails a run as a command that is missing (127) or cannot
// be executed (126) does.
type commandError struct {
	msg  string
	code int32
}

func (e commandError) Error() string   { return e.msg }
func (e commandError) ExitCode() int32 { return e.code }

// serveAgentEdge serves the fakes behind the agent's error interceptors
// over an in-memory connection and returns a client of it.
func serveAgentEdge(t *testing.T, sys *fakeSystem, ctrs *fakeContainers) *Client {
	t.Helper()
	lis := bufconn.Listen(1 << 16)
	srv := grpc.NewServer(errstatus.ServerOptions()...)
	apiv1.RegisterSystemServer(srv, sys)
	apiv1.RegisterContainersServer(srv, ctrs)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	c, err := New("/bufconn", func(ctx context.Context) (net.Conn, error) { return lis.DialContext(ctx) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestErrorCategoriesRoundTrip checks that a plain error an agent service
// returns reaches the CLI in its category, with its message, through both
// halves of the edge: the agent's interceptors and this client's.
func TestErrorCategoriesRoundTrip(t *testing.T) {
	notFound := fmt.Errorf("No such container: web: %w", errdefs.ErrNotFound)
	tests := []struct {
		name     string
		err      error
		msg      string
		is       func(error) bool
		exitCode int
	}{
		{"not found", notFound, "No such container: web", errdefs.IsNotFound, 0},
		{"invalid argument", errdefs.ErrInvalidArgument.WithMessage("invalid filter 'colour'"), "invalid filter 'colour'", errdefs.IsInvalidArgument, 0},
		{"already exists", fmt.Errorf("network web: %w", errdefs.ErrAlreadyExists), "network web", errdefs.IsAlreadyExists, 0},
		{"conflict", fmt.Errorf("remove v: volume is in use: %w", errdefs.ErrConflict), "remove v: volume is in use", errdefs.IsConflict, 0},
		{"failed precondition", errdefs.ErrFailedPrecondition.WithMessage("the native agent uses the host's clock"), "the native agent uses the host's clock", errdefs.IsFailedPrecondition, 0},
		{"permission denied", errdefs.ErrPermissionDenied.WithMessage("pull access denied for x"), "pull access denied for x", errdefs.IsPermissionDenied, 0},
		{"unavailable", errdefs.ErrUnavailable.WithMessage("cannot reach registry r"), "cannot reach registry r", errdefs.IsUnavailable, 0},
		{"not implemented", errdefs.ErrNotImplemented.WithMessage("a plugin, which skiff cannot run"), "a plugin, which skiff cannot run", errdefs.IsNotImplemented, 0},
		{"internal", errdefs.ErrInternal.WithMessage("set the clock: operation not permitted"), "set the clock: operation not permitted", errdefs.IsInternal, 0},
		{"no category", errors.New("disk on fire"), "disk on fire", errdefs.IsUnknown, 0},
		{"canceled", fmt.Errorf("start container web: %w", context.Canceled), "start container web: context canceled", errdefs.IsCanceled, 0},
		{"deadline", fmt.Errorf("stop container web: %w", context.DeadlineExceeded), "stop container web: context deadline exceeded", errdefs.IsDeadlineExceeded, 0},
		{"command not found", commandError{`exec: "nope": executable file not found in $PATH`, 127}, `exec: "nope": executable file not found in $PATH`, errdefs.IsFailedPrecondition, 127},
		{"not executable", commandError{`exec: "/etc": permission denied`, 126}, `exec: "/etc": permission denied`, errdefs.IsFailedPrecondition, 126},
	}
	check := func(t *testing.T, err error, msg string, is func(error) bool, exitCode int) {
		t.Helper()
		if err == nil || err.Error() != msg || !is(err) {
			t.Fatalf("err = %v (%T), want %q in its category", err, err, msg)
		}
		var ee *ExitError
		if got := errors.As(err, &ee); got != (exitCode != 0) || got && ee.Code != exitCode {
			t.Errorf("exit error = %v, want code %d", ee, exitCode)
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := serveAgentEdge(t, &fakeSystem{err: tc.err}, &fakeContainers{err: tc.err})
			_, err := c.System.Version(context.Background(), &apiv1.Empty{})
			check(t, err, tc.msg, tc.is, tc.exitCode)

			st, err := c.Containers.Logs(context.Background(), &apiv1.LogsRequest{Id: "web"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = st.Recv()
			check(t, err, tc.msg, tc.is, tc.exitCode)
		})
	}
}

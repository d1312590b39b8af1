package errstatus

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/containerd/errdefs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// exitError is a failure with an exit code, as the container manager's.
type exitError struct {
	code int32
	err  error
}

func (e *exitError) Error() string   { return e.err.Error() }
func (e *exitError) Unwrap() error   { return e.err }
func (e *exitError) ExitCode() int32 { return e.code }

func TestToStatus(t *testing.T) {
	notFound := fmt.Errorf("No such container: web: %w", errdefs.ErrNotFound)
	tests := []struct {
		name string
		err  error
		code codes.Code
		msg  string
		exit int32 // the ExitStatus detail; 0 for none
	}{
		{"not found", notFound, codes.NotFound, "No such container: web: not found", 0},
		{"invalid argument", errdefs.ErrInvalidArgument.WithMessage("bad filter"), codes.InvalidArgument, "bad filter", 0},
		{"already exists", fmt.Errorf("name web: %w", errdefs.ErrAlreadyExists), codes.AlreadyExists, "name web: already exists", 0},
		{"conflict", fmt.Errorf("volume in use: %w", errdefs.ErrConflict), codes.FailedPrecondition, "volume in use: conflict", 0},
		{"failed precondition", errdefs.ErrFailedPrecondition.WithMessage("the native agent uses the host's clock"), codes.FailedPrecondition, "the native agent uses the host's clock", 0},
		{"internal", errdefs.ErrInternal.WithMessage("set the clock: operation not permitted"), codes.Internal, "set the clock: operation not permitted", 0},
		{"canceled", fmt.Errorf("start container web: %w", context.Canceled), codes.Canceled, "start container web: context canceled", 0},
		{"deadline", fmt.Errorf("wait: %w", context.DeadlineExceeded), codes.DeadlineExceeded, "wait: context deadline exceeded", 0},
		{"no category", errors.New("disk on fire"), codes.Unknown, "disk on fire", 0},
		{"a status passes", status.Error(codes.Unavailable, "transport is closing"), codes.Unavailable, "transport is closing", 0},
		{"exit code", fmt.Errorf("start: %w", &exitError{127, notFound}), codes.FailedPrecondition, "start: No such container: web: not found", 127},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, ok := status.FromError(ToStatus(tc.err))
			if !ok || st.Code() != tc.code || st.Message() != tc.msg {
				t.Fatalf("status = %v, want %v %q", st, tc.code, tc.msg)
			}
			var exit int32
			for _, d := range st.Details() {
				if e, ok := d.(*apiv1.ExitStatus); ok {
					exit = e.GetCode()
				}
			}
			if exit != tc.exit {
				t.Errorf("exit detail %d, want %d", exit, tc.exit)
			}
		})
	}
	if ToStatus(nil) != nil {
		t.Error("ToStatus(nil) is not nil")
	}
}

func TestInterceptorsConvert(t *testing.T) {
	want := fmt.Errorf("No such image: nope: %w", errdefs.ErrNotFound)
	_, err := UnaryServerInterceptor(context.Background(), nil, &grpc.UnaryServerInfo{}, func(context.Context, any) (any, error) { return nil, want })
	if status.Code(err) != codes.NotFound {
		t.Errorf("unary: %v, want NotFound", err)
	}
	err = StreamServerInterceptor(nil, nil, &grpc.StreamServerInfo{}, func(any, grpc.ServerStream) error { return want })
	if status.Code(err) != codes.NotFound {
		t.Errorf("stream: %v, want NotFound", err)
	}
	resp, err := UnaryServerInterceptor(context.Background(), nil, &grpc.UnaryServerInfo{}, func(context.Context, any) (any, error) { return "ok", nil })
	if resp != "ok" || err != nil {
		t.Errorf("unary success: %v, %v", resp, err)
	}
}

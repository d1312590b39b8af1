// Package errstatus is the agent's half of its error contract: a gRPC
// server interceptor pair that converts the plain errors the agent's
// services return into statuses, once, at the edge. A containerd/errdefs
// category becomes its gRPC code (errgrpc's mapping), so do context
// cancellation and deadlines, and an error that carries an exit code
// (ExitCoder) becomes FailedPrecondition with an apiv1.ExitStatus detail,
// after which the CLI exits 126 or 127 rather than 125. Turning statuses
// back into errors is the client's (host/agentclient).
package errstatus

import (
	"context"
	"errors"

	"github.com/containerd/errdefs/pkg/errgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// ExitCoder is an error after which the CLI exits with ExitCode.
type ExitCoder interface {
	ExitCode() int32
}

// ServerOptions returns the options that install the interceptors on a
// server. Given first, they are the outermost, so what later interceptors
// return is converted too.
func ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(UnaryServerInterceptor),
		grpc.ChainStreamInterceptor(StreamServerInterceptor),
	}
}

// UnaryServerInterceptor converts the error of a unary call.
func UnaryServerInterceptor(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	resp, err := h(ctx, req)
	return resp, ToStatus(err)
}

// StreamServerInterceptor converts the error that ends a stream.
func StreamServerInterceptor(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	return ToStatus(h(srv, ss))
}

// ToStatus converts err into a status error: nil stays nil, a status
// error (one a stream's Send or Recv returned) passes unchanged, and an
// error of no category is Unknown.
func ToStatus(err error) error {
	if err == nil {
		return nil
	}
	var ec ExitCoder
	if errors.As(err, &ec) {
		st := status.New(codes.FailedPrecondition, err.Error())
		if ds, derr := st.WithDetails(&apiv1.ExitStatus{Code: ec.ExitCode()}); derr == nil {
			st = ds
		}
		return st.Err()
	}
	err = errgrpc.ToGRPC(err)
	if _, ok := status.FromError(err); !ok {
		return status.Error(codes.Unknown, err.Error())
	}
	return err
}

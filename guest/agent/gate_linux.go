package agent

import (
	"context"
	"os"
	"strings"

	"google.golang.org/grpc"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// readyGate returns server options under which every request but the
// System service's waits for ready first. Its errors are ready's (the
// request's context ending), for errstatus to convert.
func readyGate(ready func(context.Context) error) []grpc.ServerOption {
	// The System service's requests (version, time, shutdown) never wait.
	system := "/" + apiv1.System_ServiceDesc.ServiceName + "/"
	gated := func(method string) bool { return !strings.HasPrefix(method, system) }
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if gated(info.FullMethod) {
				if err := ready(ctx); err != nil {
					return nil, err
				}
			}
			return h(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if gated(info.FullMethod) {
				if err := ready(ss.Context()); err != nil {
					return err
				}
			}
			return h(srv, ss)
		}),
	}
}

// hasEntries reports whether dir exists and holds anything.
func hasEntries(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	names, _ := f.Readdirnames(1)
	return len(names) > 0
}

package agentclient

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/containerd/errdefs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// fakeSystem answers Version with whatever error the test sets, and
// counts the calls.
type fakeSystem struct {
	apiv1.UnimplementedSystemServer
	mu    sync.Mutex
	calls int
	err   error
}

func (f *fakeSystem) Version(context.Context, *apiv1.Empty) (*apiv1.VersionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	return &apiv1.VersionResponse{Version: "1"}, nil
}

type fakeContainers struct {
	apiv1.UnimplementedContainersServer
	err error
}

func (f *fakeContainers) Logs(*apiv1.LogsRequest, apiv1.Containers_LogsServer) error { return f.err }

func serve(t *testing.T, sys *fakeSystem, ctrs *fakeContainers) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ac")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	apiv1.RegisterSystemServer(srv, sys)
	apiv1.RegisterContainersServer(srv, ctrs)
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	return sock
}

func withExit(code codes.Code, msg string, exit int32) error {
	st, err := status.New(code, msg).WithDetails(&apiv1.ExitStatus{Code: exit})
	if err != nil {
		panic(err)
	}
	return st.Err()
}

func TestErrorsFromTheAgent(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		msg      string
		is       func(error) bool
		exitCode int
	}{
		{"not found with category suffix", status.Error(codes.NotFound, "no such container: foo: not found"), "no such container: foo", errdefs.IsNotFound, 0},
		{"not found plain", status.Error(codes.NotFound, "no such container: foo"), "no such container: foo", errdefs.IsNotFound, 0},
		{"already exists", status.Error(codes.AlreadyExists, `name "web" is in use`), `name "web" is in use`, errdefs.IsAlreadyExists, 0},
		{"conflict", status.Error(codes.FailedPrecondition, "container is running: conflict"), "container is running", errdefs.IsConflict, 0},
		{"permission words stay", status.Error(codes.PermissionDenied, "open /x: permission denied"), "open /x: permission denied", errdefs.IsPermissionDenied, 0},
		{"exit status detail", withExit(codes.NotFound, `exec: "nope": not found in $PATH`, 127), `exec: "nope": not found in $PATH`, errdefs.IsNotFound, 127},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sys := &fakeSystem{err: tc.err}
			c, err := New(serve(t, sys, &fakeContainers{}), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, err = c.System.Version(context.Background(), &apiv1.Empty{})
			if err == nil || err.Error() != tc.msg || !tc.is(err) {
				t.Fatalf("err = %v (%T), want %q in its category", err, err, tc.msg)
			}
			var ee *ExitError
			if got := errors.As(err, &ee); got != (tc.exitCode != 0) || got && ee.Code != tc.exitCode {
				t.Errorf("exit error = %v, want code %d", ee, tc.exitCode)
			}
		})
	}
}

func TestStreamErrorsAreTranslated(t *testing.T) {
	ctrs := &fakeContainers{err: status.Error(codes.NotFound, "no such container: x")}
	c, err := New(serve(t, &fakeSystem{}, ctrs), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st, err := c.Containers.Logs(context.Background(), &apiv1.LogsRequest{Id: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); !errdefs.IsNotFound(err) || err.Error() != "no such container: x" {
		t.Errorf("Recv = %v", err)
	}
}

func TestDialErrorReachesTheCaller(t *testing.T) {
	sentinel := errors.New(`machine "default" is not running; start it with: skiff machine start`)
	dials := 0
	c, err := New(filepath.Join(t.TempDir(), "none.sock"), func(context.Context) (net.Conn, error) {
		dials++
		return nil, sentinel
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if dials != 0 {
		t.Error("New dialled; it must wait for the first call")
	}
	_, err = c.System.Version(context.Background(), &apiv1.Empty{})
	if !errors.Is(err, sentinel) {
		t.Errorf("err = %v, want the dialer's", err)
	}
}

func TestOneConnectionServesManyCalls(t *testing.T) {
	sys := &fakeSystem{}
	sock := serve(t, sys, &fakeContainers{})
	dials := 0
	c, err := New(sock, func(ctx context.Context) (net.Conn, error) {
		dials++
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 3 {
		if _, err := c.System.Version(context.Background(), &apiv1.Empty{}); err != nil {
			t.Fatal(err)
		}
	}
	if dials != 1 || sys.calls != 3 {
		t.Errorf("dials %d calls %d", dials, sys.calls)
	}
}

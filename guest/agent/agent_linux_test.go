package agent

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// startAgent serves a new agent on a unix socket and returns a client
// connection to it.
func startAgent(t *testing.T, cfg Config) (*Agent, *grpc.ClientConn) {
	t.Helper()
	cfg.Root = filepath.Join(t.TempDir(), "root")
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- a.Serve(lis) }()
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		a.Shutdown(context.Background())
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return a, conn
}

func TestVersionInfoAndErrorsOverTheWire(t *testing.T) {
	_, conn := startAgent(t, Config{MachineDriver: "native"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sys := apiv1.NewSystemClient(conn)
	v, err := sys.Version(ctx, &apiv1.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	if v.ApiVersion != APIVersion || v.Os != "linux" {
		t.Errorf("version %+v", v)
	}
	info, err := sys.Info(ctx, &apiv1.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Containers != 0 || info.Images != 0 || info.MachineDriver != "native" || info.Ncpu == 0 {
		t.Errorf("info of an empty agent: %+v", info)
	}
	// A missing container is a not-found status the client can classify.
	_, err = apiv1.NewContainersClient(conn).Inspect(ctx, &apiv1.ContainerRef{Id: "nope"})
	if !errdefs.IsNotFound(errgrpc.ToNative(err)) {
		t.Errorf("inspect of a missing container: %v, want not found", err)
	}
	_, err = apiv1.NewContainersClient(conn).Create(ctx, &apiv1.CreateContainerRequest{Config: &apiv1.ContainerConfig{Image: "no/such:image"}})
	if !errdefs.IsNotFound(errgrpc.ToNative(err)) {
		t.Errorf("create from a missing image: %v, want not found", err)
	}
}

func TestSeedImagesLoadOnce(t *testing.T) {
	seed := filepath.Join("..", "..", "build", "images", "busybox-amd64.tar")
	if _, err := os.Stat(seed); err != nil {
		t.Skip("the bundled image is not built (make images)")
	}
	a, conn := startAgent(t, Config{SeedImages: []string{seed}})
	imgs, err := apiv1.NewImagesClient(conn).List(context.Background(), &apiv1.ListImagesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs.Images) != 1 || imgs.Images[0].RepoTags[0] != "localhost/busybox:latest" {
		t.Fatalf("images after the first start: %v", imgs.Images)
	}
	if _, err := os.Stat(filepath.Join(a.cfg.Root, seedMarker)); err != nil {
		t.Fatalf("no seed marker: %v", err)
	}
}

func TestRequestsWaitForContainersReady(t *testing.T) {
	ready := make(chan struct{})
	_, conn := startAgent(t, Config{ContainersReady: func(ctx context.Context) error {
		select {
		case <-ready:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}})
	// The System service answers at once: the host's handshake uses it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := apiv1.NewSystemClient(conn).Version(ctx, &apiv1.Empty{}); err != nil {
		t.Fatalf("Version before ready: %v", err)
	}
	// The others wait.
	short, cancelShort := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancelShort()
	if _, err := apiv1.NewContainersClient(conn).List(short, &apiv1.ListContainersRequest{}); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("List before ready: %v, want the deadline to pass", err)
	}
	close(ready)
	if _, err := apiv1.NewContainersClient(conn).List(ctx, &apiv1.ListContainersRequest{}); err != nil {
		t.Fatalf("List after ready: %v", err)
	}
}

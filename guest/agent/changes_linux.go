package agent

import (
	"context"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc"

	"github.com/skiffrun/skiff/guest/api/chunk"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/container"
	"github.com/skiffrun/skiff/guest/layer"
)

// changesService serves Changes: a container's upper directory compared
// with its image's layers.
type changesService struct {
	apiv1.UnimplementedChangesServer
	containers *container.Manager
}

func (svc *changesService) Changes(ctx context.Context, req *apiv1.ContainerRef) (*apiv1.ChangesResponse, error) {
	resp := &apiv1.ChangesResponse{}
	err := svc.containers.Snapshot(ctx, req.GetId(), false, func(_ *apiv1.Container, layers []string, upper string, skip func(string) bool) error {
		changes, err := layer.Changes(upper, layers, skip)
		if err != nil {
			return err
		}
		for _, c := range changes {
			resp.Changes = append(resp.Changes, &apiv1.Change{Path: c.Path, Kind: int32(c.Kind)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// exportService serves Exporter: a tar of a container's merged root.
type exportService struct {
	apiv1.UnimplementedExporterServer
	containers *container.Manager
	// work is where the root is bound for the walk.
	work string
}

// Export writes the root as bound (not recursively) on a directory of its
// own, so that what is mounted inside the container (its /proc, /dev,
// volumes and binds) stays out, as docker export leaves it out.
func (svc *exportService) Export(req *apiv1.ContainerRef, stream grpc.ServerStreamingServer[apiv1.ExportChunk]) error {
	return svc.containers.WithRoot(stream.Context(), req.GetId(), func(root string) error {
		if err := os.MkdirAll(svc.work, 0o700); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		dir, err := os.MkdirTemp(svc.work, "export-")
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		defer os.Remove(dir)
		if err := unix.Mount(root, dir, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("export: bind the container's root: %w", err)
		}
		defer func() { _ = unix.Unmount(dir, unix.MNT_DETACH) }()
		w := chunk.NewWriter(func(b []byte) error { return stream.Send(&apiv1.ExportChunk{Data: b}) })
		if err := layer.Write(dir, w); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		return w.Flush()
	})
}

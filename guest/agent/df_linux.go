package agent

import (
	"context"
	"io/fs"
	"path/filepath"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/container"
	"github.com/skiffrun/skiff/guest/image"
	"github.com/skiffrun/skiff/guest/volume"
)

// diskUsageService serves DiskUsage from the image store, the container
// manager and the volumes.
type diskUsageService struct {
	apiv1.UnimplementedDiskUsageServer
	images     *image.Store
	containers *container.Manager
	volumes    *volume.Store
}

func (svc *diskUsageService) DiskUsage(ctx context.Context, _ *apiv1.Empty) (*apiv1.DiskUsageResponse, error) {
	resp := &apiv1.DiskUsageResponse{}
	var byImage map[string]int32
	resp.Containers, byImage = svc.containers.Usage()
	resp.LayersSize, resp.Images = svc.images.Usage()
	for _, img := range resp.Images {
		img.Containers = byImage[img.Id]
	}
	for _, v := range svc.volumes.List() {
		resp.Volumes = append(resp.Volumes, &apiv1.VolumeUsage{
			Name:     v.GetName(),
			Size:     treeSize(v.GetMountpoint()),
			RefCount: int32(len(svc.containers.VolumeUsers(v.GetName()))),
		})
	}
	return resp, nil
}

// treeSize is the bytes of the regular files under dir.
func treeSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

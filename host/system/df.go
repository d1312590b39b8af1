package system

import (
	"context"
	"fmt"
	"io"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/host/format"
	"github.com/skiffrun/skiff/host/opts"
)

// Usage is what system df reports: each object with its bytes.
type Usage struct {
	LayersSize int64
	Images     []ImageUsage
	Containers []ContainerUsage
	Volumes    []VolumeUsage
	// BuildCache are the builder's step cache records.
	BuildCache []*apiv1.BuildCacheRecord
}

// BuildCacheSize is the bytes of the records not shared with an image or
// another record: what a build cache prune frees.
func (u *Usage) BuildCacheSize() int64 {
	var n int64
	for _, r := range u.BuildCache {
		if !r.GetShared() {
			n += r.GetSize()
		}
	}
	return n
}

// ImageUsage is an image with its sizes and containers.
type ImageUsage struct {
	Image *apiv1.Image
	*apiv1.ImageUsage
}

// ContainerUsage is a container with its writable layer's size.
type ContainerUsage struct {
	Container *apiv1.Container
	SizeRw    int64
	// SizeRootFs is the writable layer and the image's layers.
	SizeRootFs int64
}

// VolumeUsage is a volume with its size and users.
type VolumeUsage struct {
	Volume   *apiv1.Volume
	Size     int64
	RefCount int32
}

// DiskUsage gathers the agent's disk usage and the objects it is about.
func DiskUsage(ctx context.Context, c *agentclient.Client) (*Usage, error) {
	du, err := c.DiskUsage.DiskUsage(ctx, &apiv1.Empty{})
	if err != nil {
		return nil, err
	}
	imgs, err := c.Images.List(ctx, &apiv1.ListImagesRequest{All: true})
	if err != nil {
		return nil, err
	}
	ctrs, err := c.Containers.List(ctx, &apiv1.ListContainersRequest{All: true})
	if err != nil {
		return nil, err
	}
	vols, err := c.Volumes.List(ctx, &apiv1.ListVolumesRequest{})
	if err != nil {
		return nil, err
	}
	bc, err := c.BuildCache.Usage(ctx, &apiv1.Empty{})
	if err != nil {
		return nil, err
	}
	u := &Usage{LayersSize: du.GetLayersSize(), BuildCache: bc.GetRecords()}
	imgUsage := map[string]*apiv1.ImageUsage{}
	for _, iu := range du.GetImages() {
		imgUsage[iu.GetId()] = iu
	}
	imgSize := map[string]int64{}
	for _, img := range imgs.GetImages() {
		iu := imgUsage[img.GetId()]
		if iu == nil {
			iu = &apiv1.ImageUsage{Id: img.GetId(), Size: img.GetSize()}
		}
		imgSize[img.GetId()] = iu.GetSize()
		u.Images = append(u.Images, ImageUsage{Image: img, ImageUsage: iu})
	}
	ctrSize := map[string]int64{}
	for _, cu := range du.GetContainers() {
		ctrSize[cu.GetId()] = cu.GetSizeRw()
	}
	for _, ctr := range ctrs.GetContainers() {
		rw := ctrSize[ctr.GetId()]
		u.Containers = append(u.Containers, ContainerUsage{Container: ctr, SizeRw: rw, SizeRootFs: rw + imgSize[ctr.GetImageId()]})
	}
	volUsage := map[string]*apiv1.VolumeUsage{}
	for _, vu := range du.GetVolumes() {
		volUsage[vu.GetName()] = vu
	}
	for _, v := range vols.GetVolumes() {
		vu := volUsage[v.GetName()]
		u.Volumes = append(u.Volumes, VolumeUsage{Volume: v, Size: vu.GetSize(), RefCount: vu.GetRefCount()})
	}
	return u, nil
}

// DFOptions are system df's flags.
type DFOptions struct {
	Verbose bool
	Format  string
}

const defaultDFFormat = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"

var dfHeader = map[string]string{
	"Type":        "TYPE",
	"TotalCount":  "TOTAL",
	"Active":      "ACTIVE",
	"Size":        "SIZE",
	"Reclaimable": "RECLAIMABLE",
}

// DFRow is one line of system df; its fields are what --format sees.
type DFRow struct {
	Type        string
	TotalCount  string
	Active      string
	Size        string
	Reclaimable string
}

// reclaimable spells what could be freed, with its share of size as
// docker adds it.
func reclaimable(n, size int64, percent bool) string {
	s := format.Size(n)
	if percent && size > 0 {
		s += fmt.Sprintf(" (%d%%)", n*100/size)
	}
	return s
}

// DFRows summarizes u as system df's four lines.
func DFRows(u *Usage) []DFRow {
	var activeImages, usedImages int64
	for _, i := range u.Images {
		if i.GetContainers() > 0 {
			activeImages++
			usedImages += i.GetSize() - i.GetSharedSize()
		}
	}
	imgFree := max(u.LayersSize-usedImages, 0)
	var activeCtrs, ctrSize, ctrFree int64
	for _, c := range u.Containers {
		ctrSize += c.SizeRw
		if c.Container.GetState().GetRunning() {
			activeCtrs++
		} else {
			ctrFree += c.SizeRw
		}
	}
	var activeVols, volSize, volFree int64
	for _, v := range u.Volumes {
		volSize += v.Size
		if v.RefCount > 0 {
			activeVols++
		} else {
			volFree += v.Size
		}
	}
	return []DFRow{
		{"Images", fmt.Sprint(len(u.Images)), fmt.Sprint(activeImages), format.Size(u.LayersSize), reclaimable(imgFree, u.LayersSize, true)},
		{"Containers", fmt.Sprint(len(u.Containers)), fmt.Sprint(activeCtrs), format.Size(ctrSize), reclaimable(ctrFree, ctrSize, true)},
		{"Local Volumes", fmt.Sprint(len(u.Volumes)), fmt.Sprint(activeVols), format.Size(volSize), reclaimable(volFree, volSize, true)},
		// No record is in use outside a build, so all of it is reclaimable.
		{"Build Cache", fmt.Sprint(len(u.BuildCache)), "0", format.Size(u.BuildCacheSize()), format.Size(u.BuildCacheSize())},
	}
}

// DF prints disk usage as docker system df does; verbose lists each
// image, container and volume.
func DF(ctx context.Context, c *agentclient.Client, out io.Writer, o DFOptions) error {
	f, err := format.Parse(o.Format, defaultDFFormat)
	if err != nil {
		return opts.Invalid("format", o.Format, "%v", err)
	}
	u, err := DiskUsage(ctx, c)
	if err != nil {
		return err
	}
	if o.Verbose && o.Format == "" {
		return printVerbose(out, u)
	}
	var rows []any
	for _, r := range DFRows(u) {
		rows = append(rows, r)
	}
	return f.Write(out, dfHeader, rows)
}

package dockerapi

import (
	"net/http"
	"time"

	"github.com/skiffrun/skiff/host/system"
	"github.com/skiffrun/skiff/host/volumes"
)

// dfContainer is a container summary with its sizes, as in docker's
// system df.
type dfContainer struct {
	containerSummary
	SizeRw     int64
	SizeRootFs int64
}

type volumeUsageData struct {
	Size     int64
	RefCount int64
}

type dfVolume struct {
	volumes.Inspect
	UsageData volumeUsageData
}

// systemDF answers GET /system/df in docker's shape; skiff keeps no build
// cache records, so BuildCache is empty.
func (s *Server) systemDF(w http.ResponseWriter, r *http.Request) error {
	u, err := system.DiskUsage(r.Context(), s.b.Client)
	if err != nil {
		return err
	}
	out := struct {
		LayersSize int64
		Images     []imageSummary
		Containers []dfContainer
		Volumes    []dfVolume
		BuildCache []struct{}
	}{LayersSize: u.LayersSize, Images: []imageSummary{}, Containers: []dfContainer{}, Volumes: []dfVolume{}, BuildCache: []struct{}{}}
	for _, i := range u.Images {
		img := i.Image
		labels := img.GetConfig().GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		out.Images = append(out.Images, imageSummary{
			ID: img.GetId(), RepoTags: nonNilStrings(img.GetRepoTags()), RepoDigests: nonNilStrings(img.GetRepoDigests()),
			Created: time.Unix(0, img.GetCreated()).Unix(), Size: i.GetSize(), SharedSize: i.GetSharedSize(), Labels: labels,
			Containers: int64(i.GetContainers()),
		})
	}
	now := time.Now()
	for _, c := range u.Containers {
		out.Containers = append(out.Containers, dfContainer{containerSummary: newSummary(c.Container, now), SizeRw: c.SizeRw, SizeRootFs: c.SizeRootFs})
	}
	for _, v := range u.Volumes {
		out.Volumes = append(out.Volumes, dfVolume{Inspect: volumes.NewInspect(v.Volume), UsageData: volumeUsageData{Size: v.Size, RefCount: int64(v.RefCount)}})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

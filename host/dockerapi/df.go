package dockerapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/moby/moby/api/types/build"

	hostbuild "github.com/skiffrun/skiff/host/build"
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

// systemDF answers GET /system/df in docker's shape; BuildCache lists
// the builder's step cache records, none of them in use outside a build.
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
		BuildCache []build.CacheRecord
		// BuilderSize is what the 20.10 CLI reads the build cache's
		// reclaimable bytes from.
		BuilderSize int64
	}{LayersSize: u.LayersSize, Images: []imageSummary{}, Containers: []dfContainer{}, Volumes: []dfVolume{}, BuildCache: []build.CacheRecord{}, BuilderSize: u.BuildCacheSize()}
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
	for _, r := range u.BuildCache {
		last := time.Unix(0, r.GetLastUsed())
		out.BuildCache = append(out.BuildCache, build.CacheRecord{
			ID: r.GetId(), Type: "regular", Description: r.GetDescription(), Shared: r.GetShared(), Size: r.GetSize(),
			CreatedAt: time.Unix(0, r.GetCreated()), LastUsedAt: &last,
		})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// pruneBuildCache answers POST /build/prune: the builder's step cache
// records go, but for those filters (until, unused-for) and keep-storage
// keep; all is moot, no record being in use outside a build.
func (s *Server) pruneBuildCache(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, err := parseFilters(q.Get("filters"))
	if err != nil {
		return err
	}
	var keep int64
	for _, k := range []string{"keep-storage", "reserved-space"} {
		if v := q.Get(k); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return badRequest("invalid %s %q: give a number of bytes", k, v)
			}
			keep = n
		}
	}
	req, err := hostbuild.PruneRequest(f, keep, time.Now())
	if err != nil {
		return badRequest("%s", err.Error())
	}
	resp, err := s.b.Client.BuildCache.Prune(r.Context(), req)
	if err != nil {
		return err
	}
	deleted := resp.GetDeleted()
	if deleted == nil {
		deleted = []string{}
	}
	writeJSON(w, http.StatusOK, build.CachePruneReport{CachesDeleted: deleted, SpaceReclaimed: uint64(max(resp.GetSpaceReclaimed(), 0))})
	return nil
}

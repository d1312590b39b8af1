package build

import (
	"context"
	"time"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// CacheUsage lists the step cache's records.
func (b *Builder) CacheUsage() ([]CacheEntry, error) {
	b.pruning.RLock()
	defer b.pruning.RUnlock()
	return b.cache.entries()
}

// PruneCache removes the step cache's records o does not keep, once the
// builds in progress have ended, and returns their keys and the bytes
// freed.
func (b *Builder) PruneCache(o PruneOptions) ([]string, int64, error) {
	b.pruning.Lock()
	defer b.pruning.Unlock()
	return b.cache.prune(o)
}

// NewCacheService returns the agent's BuildCache gRPC service over b.
func NewCacheService(b *Builder) apiv1.BuildCacheServer { return &cacheService{b: b} }

type cacheService struct {
	apiv1.UnimplementedBuildCacheServer
	b *Builder
}

func (svc *cacheService) Usage(context.Context, *apiv1.Empty) (*apiv1.BuildCacheUsage, error) {
	ents, err := svc.b.CacheUsage()
	if err != nil {
		return nil, err
	}
	out := &apiv1.BuildCacheUsage{}
	for _, e := range ents {
		out.Records = append(out.Records, &apiv1.BuildCacheRecord{
			Id: e.ID, Description: e.Description, Size: e.Size, Shared: e.Shared,
			Created: unixNano(e.Created), LastUsed: unixNano(e.LastUsed),
		})
	}
	return out, nil
}

func (svc *cacheService) Prune(_ context.Context, req *apiv1.PruneBuildCacheRequest) (*apiv1.PruneBuildCacheResponse, error) {
	o := PruneOptions{KeepStorage: req.GetKeepStorage()}
	if u := req.GetUntil(); u != 0 {
		o.Until = time.Unix(0, u)
	}
	ids, freed, err := svc.b.PruneCache(o)
	if err != nil {
		return nil, err
	}
	return &apiv1.PruneBuildCacheResponse{Deleted: ids, SpaceReclaimed: freed}, nil
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

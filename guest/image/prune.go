package image

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/containerd/errdefs"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// PruneResult is what a prune removed.
type PruneResult struct {
	Untagged, Deleted []string
	// SpaceReclaimed is the bytes of layers and blobs removed.
	SpaceReclaimed int64
}

// Prune removes the dangling images (untagged ones), or with all every
// image no container uses, that pass filters (until=TIME|DURATION,
// label=KEY[=VALUE], label!=KEY[=VALUE]); then the layers and blobs no
// image needs, those of interrupted pulls included.
func (s *Store) Prune(ctx context.Context, all bool, filters map[string]*apiv1.FilterValues, inUse func(imageID string) bool) (*PruneResult, error) {
	if inUse == nil {
		inUse = func(string) bool { return false }
	}
	keep, err := pruneFilter(filters)
	if err != nil {
		return nil, err
	}
	imgs, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	res := &PruneResult{}
	for _, img := range imgs {
		if (!all && len(img.RepoTags) > 0) || inUse(img.ID) || !keep(img) {
			continue
		}
		before := s.layerBytes()
		untagged, deleted, err := s.Remove(ctx, img.ID, true, inUse)
		if errdefs.IsNotFound(err) {
			continue
		}
		if err != nil {
			return res, err
		}
		res.Untagged = append(res.Untagged, untagged...)
		res.Deleted = append(res.Deleted, deleted...)
		res.SpaceReclaimed += before - s.layerBytes()
	}
	s.mu.Lock()
	res.SpaceReclaimed += s.removeUnusedBlobs()
	s.mu.Unlock()
	return res, nil
}

// layerBytes is the size of all indexed layers.
func (s *Store) layerBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, l := range s.st.Layers {
		n += l.Size
	}
	return n
}

func pruneFilter(filters map[string]*apiv1.FilterValues) (func(*Image) bool, error) {
	var tests []func(*Image) bool
	for key, vals := range filters {
		for _, v := range vals.GetValues() {
			switch key {
			case "until":
				t, err := parseUntil(v)
				if err != nil {
					return nil, err
				}
				tests = append(tests, func(img *Image) bool { return img.Created.Before(t) })
			case "label", "label!":
				k, val, hasVal := strings.Cut(v, "=")
				want := key == "label"
				tests = append(tests, func(img *Image) bool {
					got, ok := img.Config.GetLabels()[k]
					return (ok && (!hasVal || got == val)) == want
				})
			default:
				return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter '%s'; prune takes until and label", key))
			}
		}
	}
	return func(img *Image) bool {
		for _, t := range tests {
			if !t(img) {
				return false
			}
		}
		return true
	}, nil
}

// parseUntil reads docker's until: a duration before now ("24h"), a
// Unix timestamp, or an RFC 3339 time or date.
func parseUntil(v string) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return time.Now().Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	var sec int64
	if _, err := fmt.Sscanf(v, "%d", &sec); err == nil && fmt.Sprint(sec) == v {
		return time.Unix(sec, 0), nil
	}
	return time.Time{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter 'until=%s': use a duration (24h), a Unix time or an RFC 3339 date", v))
}

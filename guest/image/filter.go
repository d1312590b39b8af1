package image

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// listFilter holds docker image ls's filters: dangling, label,
// reference, before and since. Within one key any value may match;
// every key given must match.
type listFilter struct {
	dangling   *bool
	labels     []string
	references []string
	before     *time.Time
	since      *time.Time
}

func parseFilters(ctx context.Context, s *Store, in map[string]*apiv1.FilterValues) (*listFilter, error) {
	f := &listFilter{}
	for key, vals := range in {
		values := vals.GetValues()
		switch key {
		case "dangling":
			for _, v := range values {
				b, err := strconv.ParseBool(v)
				if err != nil {
					return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter 'dangling=%s'", v))
				}
				f.dangling = &b
			}
		case "label":
			f.labels = values
		case "reference":
			f.references = values
		case "before", "since":
			for _, v := range values {
				img, err := s.Get(ctx, v)
				if err != nil {
					return nil, err
				}
				t := img.Created
				if key == "before" {
					f.before = &t
				} else {
					f.since = &t
				}
			}
		default:
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter '%s'", key))
		}
	}
	return f, nil
}

// apply reports whether img passes the filter. A reference filter also
// narrows the image's names to those that match, as docker shows them.
func (f *listFilter) apply(img *Image) (*Image, bool) {
	if f.dangling != nil && *f.dangling != (len(img.RepoTags) == 0) {
		return nil, false
	}
	if f.before != nil && !img.Created.Before(*f.before) {
		return nil, false
	}
	if f.since != nil && !img.Created.After(*f.since) {
		return nil, false
	}
	if len(f.labels) > 0 && !allLabels(img, f.labels) {
		return nil, false
	}
	if len(f.references) > 0 {
		img.RepoTags = matching(img.RepoTags, f.references)
		img.RepoDigests = matching(img.RepoDigests, f.references)
		if len(img.RepoTags) == 0 && len(img.RepoDigests) == 0 {
			return nil, false
		}
	}
	return img, true
}

// allLabels reports whether img has every label of filters, as docker's
// label filter asks.
func allLabels(img *Image, filters []string) bool {
	labels := img.Config.GetLabels()
	for _, l := range filters {
		k, v, hasValue := strings.Cut(l, "=")
		if got, ok := labels[k]; !ok || (hasValue && got != v) {
			return false
		}
	}
	return true
}

// matching keeps the refs that match one of the patterns, either by
// name alone or as name:tag (docker's reference filter).
func matching(refs, patterns []string) []string {
	var out []string
	for _, r := range refs {
		named, err := reference.ParseNormalizedNamed(r)
		if err != nil {
			continue
		}
		for _, p := range patterns {
			ok, _ := reference.FamiliarMatch(p, named)
			if !ok {
				ok, _ = reference.FamiliarMatch(p, reference.TrimNamed(named))
			}
			if ok {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

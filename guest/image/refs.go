package image

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
)

// The patterns are compiled on first use, not at the start of every process that
// links the package: each container's init is this binary too.
var (
	fullID   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?:sha256:)?([a-f0-9]{64})$`) })
	idPrefix = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?:sha256:)?([a-f0-9]{4,63})$`) })
)

// matchKind says how a reference found its image, which decides what
// Remove does with it.
type matchKind int

const (
	byID matchKind = iota
	byTag
	byDigest
)

type match struct {
	id   string
	kind matchKind
	// name is the normalized reference that matched, for byTag and
	// byDigest.
	name reference.Named
}

// resolve finds the image ref names, in docker's order: a full ID, then
// a name (tag or digest), then an ID prefix. The caller holds s.mu.
func (s *Store) resolve(ref string) (match, error) {
	if m := fullID().FindStringSubmatch(ref); m != nil {
		id := "sha256:" + m[1]
		if s.st.Images[id] == nil {
			return match{}, notFound(ref)
		}
		return match{id: id, kind: byID}, nil
	}
	named, perr := reference.ParseNormalizedNamed(ref)
	if perr == nil {
		if c, ok := named.(reference.Canonical); ok {
			cref, err := reference.WithDigest(reference.TrimNamed(named), c.Digest())
			if err == nil {
				for id, rec := range s.st.Images {
					if slices.Contains(rec.RepoDigests, cref.String()) {
						return match{id: id, kind: byDigest, name: cref}, nil
					}
				}
			}
		} else {
			t := reference.TagNameOnly(named)
			if id, ok := s.st.Tags[t.String()]; ok {
				return match{id: id, kind: byTag, name: t}, nil
			}
		}
	}
	if m := idPrefix().FindStringSubmatch(ref); m != nil {
		var found []string
		for id := range s.st.Images {
			if strings.HasPrefix(hexOf(id), m[1]) {
				found = append(found, id)
			}
		}
		switch len(found) {
		case 1:
			return match{id: found[0], kind: byID}, nil
		case 0:
		default:
			return match{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("image ID prefix %q matches %d images; give more of the ID", ref, len(found)))
		}
	}
	if perr != nil {
		return match{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid reference format %q: %v", ref, perr))
	}
	return match{}, notFound(ref)
}

// parseTag parses a name to give an image, adding ":latest" when it has
// no tag. Digests and bare IDs cannot be given to an image.
func parseTag(s string) (reference.NamedTagged, error) {
	if fullID().MatchString(s) {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("refusing to create a tag that looks like an image ID: %s", s))
	}
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid reference format %q: %v", s, err))
	}
	if _, ok := named.(reference.Canonical); ok {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("refusing to create a tag with a digest reference: %s", s))
	}
	return reference.TagNameOnly(named).(reference.NamedTagged), nil
}

// shortID is the 12 hex digits docker shows for an ID.
func shortID(id string) string {
	h := hexOf(id)
	if len(h) > 12 {
		h = h[:12]
	}
	return h
}

// FamiliarTag returns tag reference s as docker's events name it
// ("busybox:latest"); "" when s is empty or no tag.
func FamiliarTag(s string) string {
	if s == "" {
		return ""
	}
	t, err := parseTag(s)
	if err != nil {
		return ""
	}
	return reference.FamiliarString(t)
}

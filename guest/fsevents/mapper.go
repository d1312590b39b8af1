package fsevents

import (
	"path"
	"slices"
	"strings"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/api/wire"
)

// Mapper maps guest paths in shares to the share's tag and a relative
// path, as FileEvents names them, and back.
type Mapper struct {
	shares []wire.Share // longest guest path first
}

// NewMapper returns a Mapper of the machine's shares.
func NewMapper(shares []wire.Share) *Mapper {
	m := &Mapper{shares: slices.Clone(shares)}
	slices.SortStableFunc(m.shares, func(a, b wire.Share) int { return len(b.Path) - len(a.Path) })
	return m
}

// Root is the FilePath of guest path p, the share whose mount holds it
// most closely; false when no share holds it or that share is read-only.
func (m *Mapper) Root(p string) (*apiv1.FilePath, bool) {
	p = path.Clean(p)
	for _, s := range m.shares {
		if p != s.Path && !strings.HasPrefix(p, strings.TrimSuffix(s.Path, "/")+"/") {
			continue
		}
		if s.ReadOnly {
			return nil, false
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, s.Path), "/")
		return &apiv1.FilePath{Share: s.Tag, Path: rel}, true
	}
	return nil, false
}

// Guest is the guest path of fp; false for an unknown share, or a path
// that is not clean and relative (it could lead out of the share).
func (m *Mapper) Guest(fp *apiv1.FilePath) (string, bool) {
	rel := fp.GetPath()
	if rel != "" && (path.IsAbs(rel) || path.Clean(rel) != rel || rel == ".." || strings.HasPrefix(rel, "../") || strings.ContainsRune(rel, 0)) {
		return "", false
	}
	for _, s := range m.shares {
		if s.Tag == fp.GetShare() {
			return path.Join(s.Path, rel), true
		}
	}
	return "", false
}

// Roots are the FilePaths to watch for bind sources (guest paths), each
// once and none inside another, sorted; sources outside writable shares
// are left out.
func (m *Mapper) Roots(sources []string) []*apiv1.FilePath {
	var fps []*apiv1.FilePath
	for _, src := range sources {
		if fp, ok := m.Root(src); ok {
			fps = append(fps, fp)
		}
	}
	key := func(fp *apiv1.FilePath) string { return fp.GetShare() + "\x00" + fp.GetPath() }
	inside := func(fp, o *apiv1.FilePath) bool {
		return fp.GetShare() == o.GetShare() && fp.GetPath() != o.GetPath() &&
			(o.GetPath() == "" || strings.HasPrefix(fp.GetPath(), o.GetPath()+"/"))
	}
	slices.SortFunc(fps, func(a, b *apiv1.FilePath) int { return strings.Compare(key(a), key(b)) })
	fps = slices.CompactFunc(fps, func(a, b *apiv1.FilePath) bool { return key(a) == key(b) })
	var top []*apiv1.FilePath
	for _, fp := range fps {
		if !slices.ContainsFunc(fps, func(o *apiv1.FilePath) bool { return inside(fp, o) }) {
			top = append(top, fp)
		}
	}
	return top
}

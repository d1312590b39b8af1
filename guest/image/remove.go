package image

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
)

// Tag gives the image source names the name target ("name[:tag]",
// ":latest" when no tag is given). A target naming another image moves
// to this one; the other image stays, untagged.
func (s *Store) Tag(ctx context.Context, source, target string) error {
	t, err := parseTag(target)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.resolve(source)
	if err != nil {
		return err
	}
	if s.st.Tags[t.String()] == m.id {
		return nil
	}
	next := s.st.clone()
	next.Tags[t.String()] = m.id
	if err := s.save(next); err != nil {
		return err
	}
	s.st = next
	return nil
}

// Remove removes ref with docker rmi's rules, and returns the names
// removed ("busybox:latest", "busybox@sha256:...") and the IDs deleted:
// the image's, then those of the layers no other image uses (their chain
// IDs, as docker reports them).
//
// A ref that is a name only removes that name (and, with the last tag of
// a repository, that repository's digests); the image itself goes when
// no name is left. A ref that is an ID removes the image, and its names
// when they are all of one repository (with force, whatever they are).
//
// inUse reports whether a container uses an image. Without force, Remove
// refuses with an errdefs.ErrConflict error rather than remove the last
// name of, or delete, an image in use. With force the names go, but the
// image and its layers stay, untagged, as long as a container uses
// them: a container's root filesystem is mounted over them.
func (s *Store) Remove(ctx context.Context, ref string, force bool, inUse func(imageID string) bool) (untagged, deleted []string, err error) {
	if inUse == nil {
		inUse = func(string) bool { return false }
	}
	var drop []*layerRecord
	defer func() {
		// Files go once the index no longer names them; a crash before
		// that leaves them for Open to remove.
		for _, l := range drop {
			os.RemoveAll(s.layerPath(l.Dir))
		}
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.resolve(ref)
	if err != nil {
		return nil, nil, err
	}
	next := s.st.clone()
	refs := namesOf(next, m.id)
	used := inUse(m.id)

	if m.kind != byID {
		if !force && used && singleRepository(refs) {
			return nil, nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf(
				"conflict: unable to remove repository reference %q (must force) - a container is using its referenced image %s", ref, shortID(m.id)))
		}
		untagged = append(untagged, untag(next, m.id, m.name))
		if _, isTag := m.name.(reference.Tagged); isTag && !hasTagIn(namesOf(next, m.id), m.name.Name()) {
			// docker: the last tag of a repository takes the
			// repository's digests with it.
			for _, r := range namesOf(next, m.id) {
				if _, isDigest := r.(reference.Canonical); isDigest && r.Name() == m.name.Name() {
					untagged = append(untagged, untag(next, m.id, r))
				}
			}
		}
		if len(namesOf(next, m.id)) > 0 || used {
			return untagged, nil, s.commit(next)
		}
	} else {
		if !force && used {
			return nil, nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf(
				"conflict: unable to delete %s (must be forced) - image is being used by a container", shortID(m.id)))
		}
		if !force && !singleRepository(refs) {
			return nil, nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf(
				"conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories", shortID(m.id)))
		}
		for _, r := range refs {
			untagged = append(untagged, untag(next, m.id, r))
		}
		if used {
			return untagged, nil, s.commit(next)
		}
	}

	deleteImage(next, m.id)
	deleted = append(deleted, m.id)
	for _, c := range unusedLayers(next, s.pins) {
		drop = append(drop, next.Layers[c])
		delete(next.Layers, c)
		deleted = append(deleted, c)
	}
	if err := s.commit(next); err != nil {
		drop = nil
		return nil, nil, err
	}
	delete(s.configs, m.id)
	s.removeUnusedBlobs()
	return untagged, deleted, nil
}

// commit saves next and makes it the store's state. The caller holds
// s.mu.
func (s *Store) commit(next *state) error {
	if err := s.save(next); err != nil {
		return err
	}
	s.st = next
	return nil
}

// removeUnusedBlobs removes the blobs no image needs and no load or
// pull in progress has pinned, and returns the bytes freed. The caller
// holds s.mu.
func (s *Store) removeUnusedBlobs() int64 {
	keep := usedBlobs(s.st)
	for p := range s.pins {
		keep[hexOf(p)] = true
	}
	ents, err := os.ReadDir(s.blobDir())
	if err != nil {
		// What could not be removed now is removed by a later prune.
		return 0
	}
	var freed int64
	for _, e := range ents {
		if keep[e.Name()] {
			continue
		}
		if fi, err := e.Info(); err == nil {
			freed += fi.Size()
		}
		os.RemoveAll(filepath.Join(s.blobDir(), e.Name()))
	}
	return freed
}

// namesOf lists the names (tags and digests) of image id in st.
func namesOf(st *state, id string) []reference.Named {
	var out []reference.Named
	for t, v := range st.Tags {
		if v != id {
			continue
		}
		if n, err := reference.ParseNormalizedNamed(t); err == nil {
			out = append(out, n)
		}
	}
	for _, d := range st.Images[id].RepoDigests {
		if n, err := reference.ParseNormalizedNamed(d); err == nil {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b reference.Named) int { return compareStrings(a.String(), b.String()) })
	return out
}

// untag removes one name of image id from st and returns it in familiar
// form.
func untag(st *state, id string, n reference.Named) string {
	if _, isDigest := n.(reference.Canonical); isDigest {
		rec := *st.Images[id]
		rec.RepoDigests = slices.DeleteFunc(slices.Clone(rec.RepoDigests), func(d string) bool { return d == n.String() })
		st.Images[id] = &rec
	} else {
		delete(st.Tags, n.String())
	}
	return reference.FamiliarString(n)
}

// singleRepository reports whether refs are all of one repository with
// at most one tag among them (docker's isSingleReference).
func singleRepository(refs []reference.Named) bool {
	tags := 0
	for _, r := range refs {
		if r.Name() != refs[0].Name() {
			return false
		}
		if _, isTag := r.(reference.Tagged); isTag {
			tags++
		}
	}
	return tags <= 1
}

func hasTagIn(refs []reference.Named, repo string) bool {
	for _, r := range refs {
		if _, isTag := r.(reference.Tagged); isTag && r.Name() == repo {
			return true
		}
	}
	return false
}

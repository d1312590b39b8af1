package image

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

func TestGetReferences(t *testing.T) {
	s, _ := openStore(t)
	img := imageOf(t, "sh", layerOf(t, tarEntry{"f", "x"}))
	id := imageID(t, img)
	load(t, s, dockerSave(t, map[string]v1.Image{"busybox": img, "localhost/busybox:1": img}))
	idx := ociArchive(t, func(p layout.Path) {
		must(t, p.AppendImage(img, layout.WithAnnotations(map[string]string{annotationContainerdName: "ghcr.io/skiff/app:v1"})))
	})
	load(t, s, idx)
	digested := get(t, s, id).RepoDigests
	if len(digested) != 1 || !strings.HasPrefix(digested[0], "ghcr.io/skiff/app@sha256:") {
		t.Fatalf("RepoDigests %v", digested)
	}
	found := []string{
		"busybox", "busybox:latest", "library/busybox", "docker.io/library/busybox:latest",
		"localhost/busybox:1", "ghcr.io/skiff/app:v1", digested[0],
		id, hexOf(id), hexOf(id)[:12], hexOf(id)[:4], "sha256:" + hexOf(id)[:8],
	}
	for _, ref := range found {
		if got := get(t, s, ref); got.ID != id {
			t.Errorf("Get(%q) = %s, want %s", ref, got.ID, id)
		}
	}
	want := []string{"busybox:latest", "ghcr.io/skiff/app:v1", "localhost/busybox:1"}
	if got := get(t, s, "busybox").RepoTags; !slices.Equal(got, want) {
		t.Errorf("RepoTags %v, want %v", got, want)
	}

	missing := []string{"nope", "busybox:2", "localhost/nope", "ghcr.io/skiff/app@sha256:" + strings.Repeat("0", 64),
		"sha256:" + strings.Repeat("0", 64), hexOf(id)[:3]}
	for _, ref := range missing {
		_, err := s.Get(context.Background(), ref)
		if !errdefs.IsNotFound(err) || err.Error() != "No such image: "+ref {
			t.Errorf("Get(%q): %v, want not found", ref, err)
		}
	}
	if _, err := s.Get(context.Background(), "Upper/Case"); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Get of an invalid reference: %v, want invalid argument", err)
	}
}

func TestTag(t *testing.T) {
	s, _ := openStore(t)
	a := imageOf(t, "a", layerOf(t, tarEntry{"a", "a"}))
	b := imageOf(t, "b", layerOf(t, tarEntry{"b", "b"}))
	load(t, s, dockerSave(t, map[string]v1.Image{"a": a, "b": b}))
	ctx := context.Background()

	if err := s.Tag(ctx, "a", "mine:v1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(ctx, "a", "localhost/mine"); err != nil {
		t.Fatal(err)
	}
	want := []string{"a:latest", "localhost/mine:latest", "mine:v1"}
	if got := get(t, s, "a").RepoTags; !slices.Equal(got, want) {
		t.Errorf("RepoTags %v, want %v", got, want)
	}
	// A tag moves from the image that had it.
	if err := s.Tag(ctx, "b", "mine:v1"); err != nil {
		t.Fatal(err)
	}
	if get(t, s, "mine:v1").ID != imageID(t, b) {
		t.Error("mine:v1 did not move to b")
	}

	errs := []struct {
		source, target string
		is             func(error) bool
	}{
		{"nope", "x", errdefs.IsNotFound},
		{"a", "Bad:Name", errdefs.IsInvalidArgument},
		{"a", "x@sha256:" + strings.Repeat("a", 64), errdefs.IsInvalidArgument},
		{"a", strings.Repeat("a", 64), errdefs.IsInvalidArgument},
	}
	for _, tc := range errs {
		if err := s.Tag(ctx, tc.source, tc.target); !tc.is(err) {
			t.Errorf("Tag(%q, %q): %v", tc.source, tc.target, err)
		}
	}
}

func TestRemove(t *testing.T) {
	a := imageOf(t, "a", layerOf(t, tarEntry{"base", "shared"}), layerOf(t, tarEntry{"a", "a"}))
	b := imageOf(t, "b", layerOf(t, tarEntry{"base", "shared"}), layerOf(t, tarEntry{"b", "b"}))
	idA := imageID(t, a)
	never := func(string) bool { return false }
	usedA := func(id string) bool { return id == idA }

	tests := []struct {
		name  string
		tags  []string // extra tags of a
		ref   string
		force bool
		inUse func(string) bool

		untagged []string
		deleted  bool // whether a (and its own layer) is deleted
		conflict string
	}{
		{name: "name of an image with two names untags", tags: []string{"other:1"}, ref: "a", untagged: []string{"a:latest"}},
		{name: "last name deletes", ref: "a", untagged: []string{"a:latest"}, deleted: true},
		{name: "last name of an image in use", ref: "a", inUse: usedA, conflict: `unable to remove repository reference "a" (must force)`},
		{name: "last name of an image in use, forced", ref: "a", force: true, inUse: usedA, untagged: []string{"a:latest"}},
		{name: "name of an image in use with another repository", tags: []string{"other:1"}, ref: "a", inUse: usedA, untagged: []string{"a:latest"}},
		{name: "ID with one name", ref: idA, untagged: []string{"a:latest"}, deleted: true},
		{name: "ID prefix with one name", ref: hexOf(idA)[:12], untagged: []string{"a:latest"}, deleted: true},
		{name: "ID with two tags of one repository", tags: []string{"a:2"}, ref: idA, conflict: "image is referenced in multiple repositories"},
		{name: "ID with names in several repositories", tags: []string{"other:1"}, ref: idA, conflict: "image is referenced in multiple repositories"},
		{name: "ID with names in several repositories, forced", tags: []string{"other:1"}, ref: idA, force: true, untagged: []string{"a:latest", "other:1"}, deleted: true},
		{name: "ID of an image in use", ref: idA, inUse: usedA, conflict: "image is being used by a container"},
		{name: "ID of an image in use, forced", ref: idA, force: true, inUse: usedA, untagged: []string{"a:latest"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, root := openStore(t)
			ctx := context.Background()
			load(t, s, dockerSave(t, map[string]v1.Image{"a": a, "b": b}))
			for _, tag := range tc.tags {
				if err := s.Tag(ctx, "a", tag); err != nil {
					t.Fatal(err)
				}
			}
			layersA := get(t, s, "a").Layers
			inUse := tc.inUse
			if inUse == nil {
				inUse = never
			}
			untagged, deleted, err := s.Remove(ctx, tc.ref, tc.force, inUse)
			if tc.conflict != "" {
				if !errdefs.IsConflict(err) || !strings.Contains(err.Error(), tc.conflict) || !strings.Contains(err.Error(), shortID(idA)) {
					t.Fatalf("Remove: %v, want a conflict saying %q", err, tc.conflict)
				}
				if got := get(t, s, idA); len(got.RepoTags) != 1+len(tc.tags) {
					t.Errorf("a lost names on a refused remove: %v", got.RepoTags)
				}
				return
			}
			if err != nil {
				t.Fatalf("Remove: %v", err)
			}
			slices.Sort(untagged)
			if !slices.Equal(untagged, tc.untagged) {
				t.Errorf("untagged %v, want %v", untagged, tc.untagged)
			}
			_, getErr := s.Get(ctx, idA)
			if tc.deleted {
				// a's own layer goes; the base layer stays for b.
				if len(deleted) != 2 || deleted[0] != idA || !errdefs.IsNotFound(getErr) {
					t.Errorf("deleted %v, Get: %v", deleted, getErr)
				}
				if _, err := os.Stat(layersA[1]); !os.IsNotExist(err) {
					t.Errorf("layer %s of a still there: %v", layersA[1], err)
				}
				if _, err := os.Stat(filepath.Join(root, "blobs/sha256", hexOf(idA))); !os.IsNotExist(err) {
					t.Errorf("config blob of a still there: %v", err)
				}
			} else if len(deleted) != 0 || getErr != nil {
				t.Errorf("deleted %v, Get: %v; want a kept", deleted, getErr)
			}
			for _, l := range append(layersA[:1], get(t, s, "b").Layers...) {
				if _, err := os.Stat(l); err != nil {
					t.Errorf("layer of b: %v", err)
				}
			}
		})
	}
}

func TestRemoveByDigest(t *testing.T) {
	s, _ := openStore(t)
	img := imageOf(t, "sh", layerOf(t, tarEntry{"f", "x"}))
	load(t, s, ociArchive(t, func(p layout.Path) {
		must(t, p.AppendImage(img, layout.WithAnnotations(map[string]string{annotationContainerdName: "ghcr.io/skiff/app:v1"})))
	}))
	digest := get(t, s, "ghcr.io/skiff/app:v1").RepoDigests[0]
	// The last tag of a repository takes its digests along.
	untagged, deleted, err := s.Remove(context.Background(), "ghcr.io/skiff/app:v1", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(untagged, []string{"ghcr.io/skiff/app:v1", digest}) || len(deleted) != 2 {
		t.Errorf("untagged %v deleted %v", untagged, deleted)
	}
}

func TestOpenRecovers(t *testing.T) {
	s, root := openStore(t)
	a := imageOf(t, "a", layerOf(t, tarEntry{"a", "a"}))
	b := imageOf(t, "b", layerOf(t, tarEntry{"b", "b"}))
	load(t, s, dockerSave(t, map[string]v1.Image{"a": a, "b": b}))
	ia, ib := get(t, s, "a"), get(t, s, "b")

	// What a load killed half way leaves: a temp archive, a layer being
	// unpacked, a layer renamed into place but not indexed, a blob
	// nobody names. And a layer of b lost behind the store's back.
	must(t, os.MkdirAll(filepath.Join(root, "tmp/load-1/blobs"), 0o700))
	must(t, os.MkdirAll(filepath.Join(root, "tmp/layer-2/usr/bin"), 0o700))
	must(t, os.MkdirAll(filepath.Join(root, "layers/99/etc"), 0o700))
	must(t, os.WriteFile(filepath.Join(root, "blobs/sha256", strings.Repeat("f", 64)), []byte("{}"), 0o600))
	must(t, os.RemoveAll(ib.Layers[0]))

	s2, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if got := get(t, s2, "a"); got.ID != ia.ID || !slices.Equal(got.Layers, ia.Layers) {
		t.Errorf("a after reopen: %+v", got)
	}
	if _, err := s2.Get(context.Background(), "b"); !errdefs.IsNotFound(err) {
		t.Errorf("b, whose layer is gone, still listed: %v", err)
	}
	if got := dirNames(t, filepath.Join(root, "tmp")); len(got) != 0 {
		t.Errorf("tmp holds %v", got)
	}
	if got, want := dirNames(t, filepath.Join(root, "layers")), []string{filepath.Base(ia.Layers[0])}; !slices.Equal(got, want) {
		t.Errorf("layers holds %v, want %v", got, want)
	}
	// Whole blobs stay for the next pull or load to use; a file that
	// does not match its name goes.
	blobs := dirNames(t, filepath.Join(root, "blobs/sha256"))
	if !slices.Contains(blobs, hexOf(ia.ID)) || slices.Contains(blobs, strings.Repeat("f", 64)) {
		t.Errorf("blobs holds %v, want a's config and not the corrupt blob", blobs)
	}
	// A new layer never takes the number of one that was removed.
	load(t, s2, dockerSave(t, map[string]v1.Image{"b": b}))
	if got := get(t, s2, "b").Layers[0]; got == ib.Layers[0] || got == filepath.Join(root, "layers/99") {
		t.Errorf("new layer reuses %s", got)
	}
}

// TestRemoveKeepsPinnedLayers stands in for a load that found a layer
// in the store and is still unpacking the rest of its image when the
// only image using that layer is removed.
func TestRemoveKeepsPinnedLayers(t *testing.T) {
	s, _ := openStore(t)
	base := layerOf(t, tarEntry{"base", "shared"})
	a := imageOf(t, "a", base)
	b := imageOf(t, "b", base, layerOf(t, tarEntry{"b", "b"}))
	load(t, s, dockerSave(t, map[string]v1.Image{"a": a}))
	layer := get(t, s, "a").Layers[0]
	chain := get(t, s, "a").DiffIDs[0]

	s.mu.Lock()
	s.pins[chain]++
	s.mu.Unlock()
	_, deleted, err := s.Remove(context.Background(), "a", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(deleted, []string{imageID(t, a)}) {
		t.Errorf("deleted %v, want only the image", deleted)
	}
	if _, err := os.Stat(layer); err != nil {
		t.Fatalf("pinned layer removed: %v", err)
	}
	s.unpin([]string{chain})

	load(t, s, dockerSave(t, map[string]v1.Image{"b": b}))
	if got := get(t, s, "b").Layers[0]; got != layer {
		t.Errorf("b's base layer is %s, want the kept %s", got, layer)
	}
}

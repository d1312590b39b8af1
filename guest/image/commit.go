package image

import (
	"context"
	"fmt"
	"os"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// CommitOptions describe an image made on top of another one's layers,
// as a build makes it.
type CommitOptions struct {
	// Base is the ID of the image whose layers come first; empty for
	// none.
	Base string
	// Config is the new image's config blob. Its diff IDs list Base's
	// layers, then Layers'.
	Config []byte
	// Layers are the layers added above Base's, lowest first.
	Layers []LayerFile
	// Names are REPOSITORY[:TAG] names for the image.
	Names []string
}

// LayerFile is an uncompressed layer tar on the store's filesystem. It
// is linked into the blob store, so it must not change afterwards.
type LayerFile struct {
	Path string
	// DiffID is the digest of the file, "sha256:<hex>".
	DiffID string
}

// Commit stores the image o describes, unpacking the layers the store
// lacks, and returns its ID. Nothing is listed unless every layer is in
// place.
func (s *Store) Commit(ctx context.Context, o CommitOptions) (string, error) {
	var names []reference.NamedTagged
	for _, n := range o.Names {
		t, err := parseTag(n)
		if err != nil {
			return "", err
		}
		names = append(names, t)
	}
	src := &source{config: o.Config, names: names}
	if o.Base != "" {
		s.mu.Lock()
		rec := s.st.Images[o.Base]
		var blobs []blobRecord
		if rec != nil {
			blobs = rec.Blobs
		}
		s.mu.Unlock()
		if rec == nil {
			return "", notFound(o.Base)
		}
		if len(blobs) != len(rec.ChainIDs) {
			return "", errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("image %s was stored without its layer blobs; pull or load it again", o.Base))
		}
		for _, b := range blobs {
			src.layers = append(src.layers, sourceLayer{path: s.blobPath(b.Digest), digest: b.Digest, mediaType: b.MediaType})
		}
	}
	for _, l := range o.Layers {
		src.layers = append(src.layers, sourceLayer{path: l.Path, digest: l.DiffID, mediaType: string(types.OCIUncompressedLayer)})
	}
	if _, err := s.importImage(ctx, src, func(string) {}); err != nil {
		return "", fmt.Errorf("commit image: %w", err)
	}
	return digestOf(o.Config), nil
}

// Has reports whether image id is stored.
func (s *Store) Has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.Images[id] != nil
}

// RawConfig returns the config blob of image id, as stored.
func (s *Store) RawConfig(id string) ([]byte, error) {
	if !s.Has(id) {
		return nil, notFound(id)
	}
	data, err := os.ReadFile(s.blobPath(id))
	if err != nil {
		return nil, fmt.Errorf("read config of image %s: %w", id, err)
	}
	return data, nil
}

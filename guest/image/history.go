package image

import (
	"bytes"
	"context"
	"fmt"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// missing is docker's ID for a history entry whose image is not kept.
const missing = "<missing>"

// History returns the history entries of image ref's config, the newest
// first. Entries that added a layer take that layer's unpacked size, in
// order; the newest entry carries the image's ID and names.
func (s *Store) History(ctx context.Context, ref string) ([]*apiv1.ImageHistoryEntry, error) {
	img, err := s.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	raw, err := s.RawConfig(img.ID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	var sizes []int64
	if rec := s.st.Images[img.ID]; rec != nil {
		for _, c := range rec.ChainIDs {
			if l := s.st.Layers[c]; l != nil {
				sizes = append(sizes, l.Size)
			}
		}
	}
	s.mu.Unlock()
	return historyEntries(raw, img, sizes)
}

// historyEntries builds the entries from a config blob and the image's
// layer sizes, lowest first.
func historyEntries(raw []byte, img *Image, sizes []int64) ([]*apiv1.ImageHistoryEntry, error) {
	cf, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: parse config of image %s: %w", errdefs.ErrInvalidArgument, img.ID, err)
	}
	out := make([]*apiv1.ImageHistoryEntry, 0, len(cf.History))
	layer := 0
	for _, h := range cf.History {
		e := &apiv1.ImageHistoryEntry{
			Id:         missing,
			CreatedBy:  h.CreatedBy,
			Comment:    h.Comment,
			EmptyLayer: h.EmptyLayer,
		}
		if !h.Created.IsZero() {
			e.Created = h.Created.UnixNano()
		}
		if !h.EmptyLayer {
			if layer < len(sizes) {
				e.Size = sizes[layer]
			}
			layer++
		}
		out = append(out, e)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	if len(out) > 0 {
		out[0].Id = img.ID
		out[0].Tags = img.RepoTags
	}
	return out, nil
}

// NewHistoryService returns the agent's ImageHistory gRPC service over s.
func NewHistoryService(s *Store) apiv1.ImageHistoryServer {
	return &historyService{store: s}
}

type historyService struct {
	apiv1.UnimplementedImageHistoryServer
	store *Store
}

func (svc *historyService) History(ctx context.Context, req *apiv1.ImageRef) (*apiv1.ImageHistoryResponse, error) {
	entries, err := svc.store.History(ctx, req.GetRef())
	if err != nil {
		return nil, err
	}
	return &apiv1.ImageHistoryResponse{Entries: entries}, nil
}

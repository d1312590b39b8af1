package image

import (
	"context"
	"time"

	"google.golang.org/grpc"

	"github.com/skiffrun/skiff/guest/api/chunk"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/events"
)

// NewService returns the agent's Images gRPC service over s. inUse
// reports whether a container uses an image; Remove consults it.
//
// Over the wire an image's layers are its diff IDs, as docker inspect
// shows them; the unpacked directories stay inside the agent. Each change
// to the store is published on bus (which may be nil).
func NewService(s *Store, inUse func(imageID string) bool, bus *events.Bus) apiv1.ImagesServer {
	return &service{store: s, inUse: inUse, events: bus}
}

type service struct {
	apiv1.UnimplementedImagesServer
	store  *Store
	inUse  func(imageID string) bool
	events *events.Bus
}

var _ apiv1.ImagesServer = (*service)(nil)

// Load reads the archive from the client's chunks, which end when the
// client closes its side, and answers with one message per progress
// line, then a last one that carries only the names loaded.
func (svc *service) Load(stream grpc.BidiStreamingServer[apiv1.LoadChunk, apiv1.LoadProgress]) error {
	archive := chunk.NewReader(func() ([]byte, error) {
		c, err := stream.Recv()
		return c.GetData(), err
	})
	loaded, err := svc.store.Load(stream.Context(), archive, func(line string) {
		// A client that went away also cancels the load; nothing
		// else to do about a failed send.
		_ = stream.Send(&apiv1.LoadProgress{Message: line})
	})
	if err != nil {
		return err
	}
	for _, ref := range loaded {
		if img, err := svc.store.Get(stream.Context(), ref); err == nil {
			svc.emit(stream.Context(), "load", img.ID, ref)
		}
	}
	return stream.Send(&apiv1.LoadProgress{Loaded: loaded})
}

// List answers docker image ls. Its all flag changes nothing: images
// here have no intermediate parents to hide.
func (svc *service) List(ctx context.Context, req *apiv1.ListImagesRequest) (*apiv1.ListImagesResponse, error) {
	imgs, err := svc.store.List(ctx)
	if err != nil {
		return nil, err
	}
	f, err := parseFilters(ctx, svc.store, req.GetFilters())
	if err != nil {
		return nil, err
	}
	resp := &apiv1.ListImagesResponse{}
	for _, img := range imgs {
		if img, ok := f.apply(img); ok {
			resp.Images = append(resp.Images, toProto(img))
		}
	}
	return resp, nil
}

func (svc *service) Inspect(ctx context.Context, req *apiv1.ImageRef) (*apiv1.Image, error) {
	img, err := svc.store.Get(ctx, req.GetRef())
	if err != nil {
		return nil, err
	}
	return toProto(img), nil
}

func (svc *service) Tag(ctx context.Context, req *apiv1.TagRequest) (*apiv1.Empty, error) {
	if err := svc.store.Tag(ctx, req.GetSource(), req.GetTarget()); err != nil {
		return nil, err
	}
	if img, err := svc.store.Get(ctx, req.GetTarget()); err == nil {
		svc.emit(ctx, "tag", img.ID, req.GetTarget())
	}
	return &apiv1.Empty{}, nil
}

func (svc *service) Remove(ctx context.Context, req *apiv1.RemoveImageRequest) (*apiv1.RemoveImageResponse, error) {
	var id string
	if img, err := svc.store.Get(ctx, req.GetRef()); err == nil {
		id = img.ID
	}
	untagged, deleted, err := svc.store.Remove(ctx, req.GetRef(), req.GetForce(), svc.inUse)
	if err != nil {
		return nil, err
	}
	svc.emitRemoved(id, untagged, deleted)
	return &apiv1.RemoveImageResponse{Untagged: untagged, Deleted: deleted}, nil
}

func toProto(img *Image) *apiv1.Image {
	return &apiv1.Image{
		Id:             img.ID,
		RepoTags:       img.RepoTags,
		RepoDigests:    img.RepoDigests,
		Created:        unixNano(img.Created),
		Size:           img.Size,
		Architecture:   img.Architecture,
		Os:             img.OS,
		Variant:        img.Variant,
		Author:         img.Author,
		Comment:        img.Comment,
		Config:         img.Config,
		Layers:         img.DiffIDs,
		ManifestDigest: img.ManifestDigest,
	}
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

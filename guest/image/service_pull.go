package image

import (
	"bytes"
	"context"
	"io"
	"sync"

	"google.golang.org/grpc"

	"github.com/skiffrun/skiff/guest/api/chunk"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

func registryOptions(o *apiv1.RegistryOptions) RegistryOptions {
	a := o.GetAuth()
	return RegistryOptions{
		Username:      a.GetUsername(),
		Password:      a.GetPassword(),
		IdentityToken: a.GetIdentityToken(),
		RegistryToken: a.GetRegistryToken(),
		Insecure:      o.GetInsecureRegistries(),
	}
}

// progressSender sends progress from the goroutines of one pull or push
// on its stream, one message at a time.
func progressSender(send func(*apiv1.PullProgress) error) func(Progress) {
	var mu sync.Mutex
	return func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		// A client that went away also cancels the request.
		_ = send(&apiv1.PullProgress{Id: p.ID, Status: p.Status, Current: p.Current, Total: p.Total})
	}
}

// Pull pulls an image, streaming docker's progress, and ends with one
// message that has done set.
func (svc *service) Pull(req *apiv1.PullRequest, stream grpc.ServerStreamingServer[apiv1.PullProgress]) error {
	res, err := svc.store.Pull(stream.Context(), req.GetRef(), PullOptions{
		Platform: req.GetPlatform(),
		Registry: registryOptions(req.GetRegistry()),
		Progress: progressSender(stream.Send),
	})
	if err != nil {
		return err
	}
	svc.emit(stream.Context(), "pull", res.Name, res.Name)
	return stream.Send(&apiv1.PullProgress{
		Done:    true,
		Digest:  res.Digest,
		ImageId: res.ID,
		Updated: res.Updated,
		Name:    res.Name,
	})
}

// Push pushes an image, with progress as Pull's.
func (svc *service) Push(req *apiv1.PushRequest, stream grpc.ServerStreamingServer[apiv1.PullProgress]) error {
	res, err := svc.store.Push(stream.Context(), req.GetRef(), PushOptions{
		Registry: registryOptions(req.GetRegistry()),
		Progress: progressSender(stream.Send),
	})
	if err != nil {
		return err
	}
	svc.emit(stream.Context(), "push", res.Name, res.Name)
	return stream.Send(&apiv1.PullProgress{
		Done:   true,
		Digest: res.Digest,
		Name:   res.Name,
		Size:   res.Size,
	})
}

// Save streams the archive of the images in chunks.
func (svc *service) Save(req *apiv1.SaveRequest, stream grpc.ServerStreamingServer[apiv1.SaveChunk]) error {
	w := chunk.NewWriter(func(b []byte) error { return stream.Send(&apiv1.SaveChunk{Data: b}) })
	if err := svc.store.Save(stream.Context(), req.GetRefs(), w); err != nil {
		return err
	}
	for _, ref := range req.GetRefs() {
		if img, err := svc.store.Get(stream.Context(), ref); err == nil {
			svc.emit(stream.Context(), "save", img.ID, ref)
		}
	}
	return w.Flush()
}

// Import reads the options from the first message and the tarball from
// the rest, until the client closes its side.
func (svc *service) Import(stream grpc.ClientStreamingServer[apiv1.ImportChunk, apiv1.ImportResponse]) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	o := first.GetOptions()
	// The first message may carry data too.
	tarball := io.MultiReader(bytes.NewReader(first.GetData()), chunk.NewReader(func() ([]byte, error) {
		c, err := stream.Recv()
		return c.GetData(), err
	}))
	id, err := svc.store.Import(stream.Context(), tarball, ImportOptions{
		Reference: o.GetReference(),
		Changes:   o.GetChanges(),
		Message:   o.GetMessage(),
		Platform:  o.GetPlatform(),
	})
	if err != nil {
		return err
	}
	svc.emit(stream.Context(), "import", id, id)
	return stream.SendAndClose(&apiv1.ImportResponse{Id: id})
}

// Prune removes unused images, layers and blobs.
func (svc *service) Prune(ctx context.Context, req *apiv1.PruneImagesRequest) (*apiv1.PruneImagesResponse, error) {
	res, err := svc.store.Prune(ctx, req.GetAll(), req.GetFilters(), svc.inUse)
	if err != nil {
		return nil, err
	}
	svc.emitRemoved("", res.Untagged, res.Deleted)
	return &apiv1.PruneImagesResponse{Untagged: res.Untagged, Deleted: res.Deleted, SpaceReclaimed: res.SpaceReclaimed}, nil
}

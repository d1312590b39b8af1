package image

import (
	"context"
	"errors"
	"io"
	"sync"

	"google.golang.org/grpc"

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
	return stream.Send(&apiv1.PullProgress{
		Done:   true,
		Digest: res.Digest,
		Name:   res.Name,
		Size:   res.Size,
	})
}

// Save streams the archive of the images in chunks.
func (svc *service) Save(req *apiv1.SaveRequest, stream grpc.ServerStreamingServer[apiv1.SaveChunk]) error {
	w := &chunkWriter{send: stream.Send}
	if err := svc.store.Save(stream.Context(), req.GetRefs(), w); err != nil {
		return err
	}
	return w.flush()
}

// chunkWriter gathers writes into chunks of a size gRPC carries well.
type chunkWriter struct {
	send func(*apiv1.SaveChunk) error
	buf  []byte
}

const saveChunk = 256 << 10

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		room := saveChunk - len(w.buf)
		take := min(room, len(p))
		w.buf = append(w.buf, p[:take]...)
		p = p[take:]
		if len(w.buf) == saveChunk {
			if err := w.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (w *chunkWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	err := w.send(&apiv1.SaveChunk{Data: w.buf})
	w.buf = nil
	return err
}

// Import reads the options from the first message and the tarball from
// the rest, until the client closes its side.
func (svc *service) Import(stream grpc.ClientStreamingServer[apiv1.ImportChunk, apiv1.ImportResponse]) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	o := first.GetOptions()
	pr, pw := io.Pipe()
	defer pr.Close()
	go func() {
		if _, err := pw.Write(first.GetData()); err != nil {
			return
		}
		for {
			chunk, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				pw.Close()
				return
			}
			if err != nil {
				_ = pw.CloseWithError(err)
				return
			}
			if _, err := pw.Write(chunk.GetData()); err != nil {
				return
			}
		}
	}()
	id, err := svc.store.Import(stream.Context(), pr, ImportOptions{
		Reference: o.GetReference(),
		Changes:   o.GetChanges(),
		Message:   o.GetMessage(),
		Platform:  o.GetPlatform(),
	})
	if err != nil {
		return err
	}
	return stream.SendAndClose(&apiv1.ImportResponse{Id: id})
}

// Prune removes unused images, layers and blobs.
func (svc *service) Prune(ctx context.Context, req *apiv1.PruneImagesRequest) (*apiv1.PruneImagesResponse, error) {
	res, err := svc.store.Prune(ctx, req.GetAll(), req.GetFilters(), svc.inUse)
	if err != nil {
		return nil, err
	}
	return &apiv1.PruneImagesResponse{Untagged: res.Untagged, Deleted: res.Deleted, SpaceReclaimed: res.SpaceReclaimed}, nil
}

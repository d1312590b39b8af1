package agent

import (
	"context"
	"os"
	"strings"
	"time"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/container"
	"github.com/skiffrun/skiff/guest/image"
	"github.com/skiffrun/skiff/guest/layer"
)

// commitService serves Committer: it joins the container manager, which
// has the container's writable layer, to the image store, which keeps
// the result.
type commitService struct {
	apiv1.UnimplementedCommitterServer
	containers *container.Manager
	images     *image.Store
}

func (svc *commitService) Commit(ctx context.Context, req *apiv1.CommitRequest) (*apiv1.CommitResponse, error) {
	var names []string
	if req.GetReference() != "" {
		names = []string{req.GetReference()}
	}
	var id string
	var committed *apiv1.Container
	err := svc.containers.Snapshot(ctx, req.GetContainer(), req.GetPause(), func(rec *apiv1.Container, _ []string, upper string, skip func(string) bool) error {
		base, err := svc.images.RawConfig(rec.GetImageId())
		if err != nil {
			return err
		}
		path, diffID, err := layer.TarSkipping(upper, svc.images.WorkDir(), skip)
		if err != nil {
			return err
		}
		defer os.Remove(path)
		cfg, err := image.CommitConfig(base, image.ContainerCommit{
			Config:    rec.GetConfig(),
			Body:      req.GetConfig(),
			Changes:   req.GetChanges(),
			CreatedBy: strings.Join(append([]string{rec.GetPath()}, rec.GetArgs()...), " "),
			Comment:   req.GetComment(),
			Author:    req.GetAuthor(),
			DiffID:    diffID,
			Now:       time.Now(),
		})
		if err != nil {
			return err
		}
		id, err = svc.images.Commit(ctx, image.CommitOptions{Base: rec.GetImageId(), Config: cfg, Layers: []image.LayerFile{{Path: path, DiffID: diffID}}, Names: names})
		committed = rec
		return err
	})
	if err != nil {
		return nil, err
	}
	svc.containers.Committed(committed, id, image.FamiliarTag(req.GetReference()), req.GetComment())
	return &apiv1.CommitResponse{Id: id}, nil
}

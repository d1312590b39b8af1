// Package inspect carries out skiff inspect, container inspect and image
// inspect: it finds each reference among containers or images (or both,
// containers first, as docker does) and prints them in docker's JSON shape
// or through a --format template. The shapes are host/containers' and
// host/images'.
package inspect

import (
	"context"
	"errors"
	"io"

	"github.com/containerd/errdefs"

	"github.com/skiffrun/skiff/guest/api/errclass"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/host/containers"
	"github.com/skiffrun/skiff/host/format"
	"github.com/skiffrun/skiff/host/images"
	"github.com/skiffrun/skiff/host/opts"
)

// Object types of --type.
const (
	Container = "container"
	Image     = "image"
)

// Options are inspect's flags.
type Options struct {
	Refs   []string
	Format string
	// Type limits the search to containers or images; "" looks at both.
	Type string
	// Size is accepted for docker's sake; the agent reports no per-container
	// sizes yet.
	Size bool
}

// Inspect prints the objects named by o.Refs. Those found are printed even
// when others are not; the missing ones are the error.
func Inspect(ctx context.Context, c *agentclient.Client, out io.Writer, o Options) error {
	switch o.Type {
	case "", Container, Image:
	default:
		return opts.Invalid("type", o.Type, "use container or image")
	}
	if o.Format != "" && o.Format != format.JSONKey {
		if _, err := format.New(o.Format); err != nil {
			return opts.Invalid("format", o.Format, "%v", err)
		}
	}
	var (
		items []any
		errs  []error
	)
	for _, ref := range o.Refs {
		it, err := find(ctx, c, ref, o.Type)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		items = append(items, it)
	}
	if err := format.Inspect(out, o.Format, items); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func find(ctx context.Context, c *agentclient.Client, ref, typ string) (any, error) {
	if typ != Image {
		ctr, err := c.Containers.Inspect(ctx, &apiv1.ContainerRef{Id: ref})
		if err == nil {
			return containers.NewInspect(ctr), nil
		}
		if typ == Container || !errdefs.IsNotFound(err) {
			return nil, err
		}
	}
	img, err := c.Images.Inspect(ctx, &apiv1.ImageRef{Ref: ref})
	if err == nil {
		return images.NewInspect(img), nil
	}
	if typ == "" && errdefs.IsNotFound(err) {
		return nil, errclass.Errorf(errdefs.ErrNotFound, "no such object: %s", ref)
	}
	return nil, err
}

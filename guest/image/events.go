package image

import (
	"context"
	"maps"

	"github.com/skiffrun/skiff/guest/events"
)

// emit publishes an image event, docker's way: about the image id (or,
// for pull and push, the reference), with the image's labels and the
// reference the action named as attributes.
func (svc *service) emit(ctx context.Context, action, id, name string) {
	if svc.events == nil {
		return
	}
	attrs := map[string]string{}
	if img, err := svc.store.Get(ctx, id); err == nil {
		maps.Copy(attrs, img.Config.GetLabels())
	}
	attrs["name"] = name
	svc.events.Publish(events.Image, action, id, attrs)
}

// emitRemoved publishes the untag and delete events of a removal of
// image id (or of a prune, with id empty).
func (svc *service) emitRemoved(id string, untagged, deleted []string) {
	if svc.events == nil {
		return
	}
	for _, ref := range untagged {
		svc.events.Publish(events.Image, "untag", id, map[string]string{"name": ref})
	}
	for _, d := range deleted {
		svc.events.Publish(events.Image, "delete", d, map[string]string{"name": d})
	}
}

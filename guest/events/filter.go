package events

import (
	"fmt"
	"strings"

	"github.com/containerd/errdefs"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// Filter compiles docker's events filters: container, event, image,
// label, network, type, volume and scope. Values of one key are
// alternatives; every key must match.
func Filter(filters map[string]*apiv1.FilterValues) (func(*apiv1.Event) bool, error) {
	var tests []func(*apiv1.Event) bool
	for key, fv := range filters {
		values := fv.GetValues()
		if len(values) == 0 {
			continue
		}
		var test func(*apiv1.Event, string) bool
		switch key {
		case "container":
			test = func(ev *apiv1.Event, v string) bool {
				return ev.Type == Container && matchObject(ev, v)
			}
		case "network":
			test = func(ev *apiv1.Event, v string) bool {
				return ev.Type == Network && matchObject(ev, v)
			}
		case "volume":
			test = func(ev *apiv1.Event, v string) bool {
				return ev.Type == Volume && ev.Actor.GetId() == v
			}
		case "image":
			test = matchImage
		case "event":
			test = func(ev *apiv1.Event, v string) bool {
				// "exec_start: sh" and "health_status: healthy" are
				// the exec_start and health_status events.
				action, _, _ := strings.Cut(ev.Action, ":")
				return ev.Action == v || action == v
			}
		case "type":
			for _, v := range values {
				switch v {
				case Container, Image, Network, Volume, "daemon", "plugin", "service", "node", "secret", "config":
				default:
					return nil, fmt.Errorf("invalid filter 'type=%s': use container, image, network or volume: %w", v, errdefs.ErrInvalidArgument)
				}
			}
			test = func(ev *apiv1.Event, v string) bool { return ev.Type == v }
		case "label":
			test = func(ev *apiv1.Event, v string) bool {
				k, val, hasVal := strings.Cut(v, "=")
				got, ok := ev.Actor.GetAttributes()[k]
				return ok && (!hasVal || got == val)
			}
		case "scope":
			test = func(ev *apiv1.Event, v string) bool { return ev.Scope == v }
		default:
			return nil, fmt.Errorf("invalid filter %q: use container, event, image, label, network, type, volume or scope: %w", key, errdefs.ErrInvalidArgument)
		}
		tests = append(tests, func(ev *apiv1.Event) bool {
			for _, v := range values {
				if test(ev, v) {
					return true
				}
			}
			return false
		})
	}
	return func(ev *apiv1.Event) bool {
		for _, t := range tests {
			if !t(ev) {
				return false
			}
		}
		return true
	}, nil
}

// matchObject matches a container or network by name or by id or id
// prefix, as docker's filters do.
func matchObject(ev *apiv1.Event, v string) bool {
	id := ev.Actor.GetId()
	return v != "" && (strings.HasPrefix(id, v) || ev.Actor.GetAttributes()["name"] == strings.TrimPrefix(v, "/"))
}

// matchImage matches image events by the image's id or name, and
// container events by the image the container runs.
func matchImage(ev *apiv1.Event, v string) bool {
	if v == "" {
		return false
	}
	names := []string{ev.Actor.GetAttributes()["image"]}
	if ev.Type == Image {
		names = append(names, ev.Actor.GetId(), ev.Actor.GetAttributes()["name"])
	}
	for _, n := range names {
		if n == "" {
			continue
		}
		if n == v || stripTag(n) == stripTag(v) || strings.HasPrefix(strings.TrimPrefix(n, "sha256:"), strings.TrimPrefix(v, "sha256:")) && len(strings.TrimPrefix(v, "sha256:")) >= 4 {
			return true
		}
	}
	return false
}

// stripTag drops a reference's ":latest", so busybox and busybox:latest
// are the same image.
func stripTag(ref string) string { return strings.TrimSuffix(ref, ":latest") }

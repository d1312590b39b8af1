package container

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"google.golang.org/protobuf/proto"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// List returns the containers that pass filters, newest first; without
// all only the running ones, as docker ps.
func (m *Manager) List(req *apiv1.ListContainersRequest) ([]*apiv1.Container, error) {
	match, err := m.filter(req.GetFilters())
	if err != nil {
		return nil, err
	}
	var out []*apiv1.Container
	for _, c := range m.all() {
		rec := m.withNetwork(c.snapshot())
		if !req.GetAll() && req.GetLimit() == 0 && !rec.State.GetRunning() && !rec.State.GetRestarting() && len(req.GetFilters()["status"].GetValues()) == 0 && len(req.GetFilters()["exited"].GetValues()) == 0 {
			continue
		}
		if !match(rec) {
			continue
		}
		out = append(out, rec)
		if req.GetLimit() > 0 && len(out) == int(req.GetLimit()) {
			break
		}
	}
	return out, nil
}

var knownStatus = map[string]bool{"created": true, "restarting": true, "running": true, "removing": true, "paused": true, "exited": true, "dead": true}

// filter compiles docker ps filters: id, name, status, label, exited,
// ancestor, before, since. Values of one key are alternatives, but for
// label, whose values must all match (as docker's: compose selects a
// project's service by two labels); keys must all match.
func (m *Manager) filter(filters map[string]*apiv1.FilterValues) (func(*apiv1.Container) bool, error) {
	var tests []func(*apiv1.Container) bool
	for key, fv := range filters {
		values := fv.GetValues()
		if len(values) == 0 {
			continue
		}
		var test func(*apiv1.Container, string) bool
		switch key {
		case "id":
			test = func(r *apiv1.Container, v string) bool { return strings.HasPrefix(r.Id, v) }
		case "name":
			test = func(r *apiv1.Container, v string) bool { return strings.Contains(r.Name, strings.TrimPrefix(v, "/")) }
		case "status":
			for _, v := range values {
				if !knownStatus[v] {
					return nil, fmt.Errorf("invalid filter 'status=%s': use created, restarting, running, removing, paused, exited or dead: %w", v, errdefs.ErrInvalidArgument)
				}
			}
			test = func(r *apiv1.Container, v string) bool { return r.State.GetStatus() == v }
		case "label":
			test = func(r *apiv1.Container, v string) bool {
				k, val, hasVal := strings.Cut(v, "=")
				got, ok := r.Config.GetLabels()[k]
				return ok && (!hasVal || got == val)
			}
		case "exited":
			for _, v := range values {
				if _, err := strconv.Atoi(v); err != nil {
					return nil, fmt.Errorf("invalid filter 'exited=%s': give an exit code: %w", v, errdefs.ErrInvalidArgument)
				}
			}
			test = func(r *apiv1.Container, v string) bool {
				n, _ := strconv.Atoi(v)
				return r.State.GetStatus() == "exited" && int(r.State.GetExitCode()) == n
			}
		case "ancestor":
			test = func(r *apiv1.Container, v string) bool {
				return r.Image == v || r.ImageId == v || strings.HasPrefix(strings.TrimPrefix(r.ImageId, "sha256:"), v) || strings.TrimSuffix(r.Image, ":latest") == strings.TrimSuffix(v, ":latest")
			}
		case "before", "since":
			var refs []int64
			for _, v := range values {
				c, err := m.get(v)
				if err != nil {
					return nil, err
				}
				refs = append(refs, c.snapshot().Created)
			}
			before := key == "before"
			tests = append(tests, func(r *apiv1.Container) bool {
				for _, t := range refs {
					if (before && r.Created < t) || (!before && r.Created > t) {
						return true
					}
				}
				return false
			})
			continue
		default:
			return nil, fmt.Errorf("invalid filter %q: use id, name, status, label, exited, ancestor, before or since: %w", key, errdefs.ErrInvalidArgument)
		}
		all := key == "label"
		tests = append(tests, func(r *apiv1.Container) bool {
			for _, v := range values {
				if test(r, v) != all {
					return !all
				}
			}
			return all
		})
	}
	return func(r *apiv1.Container) bool {
		for _, t := range tests {
			if !t(r) {
				return false
			}
		}
		return true
	}, nil
}

// PruneFilter compiles container prune's filters: label and until.
func PruneFilter(filters map[string]*apiv1.FilterValues) (func(*apiv1.Container) bool, error) {
	for key := range filters {
		if key != "label" && key != "label!" {
			return nil, fmt.Errorf("invalid filter %q for prune: use label=key[=value] or label!=key[=value]: %w", key, errdefs.ErrInvalidArgument)
		}
	}
	return func(r *apiv1.Container) bool {
		has := func(v string) bool {
			k, val, hasVal := strings.Cut(v, "=")
			got, ok := r.Config.GetLabels()[k]
			return ok && (!hasVal || got == val)
		}
		for _, v := range filters["label"].GetValues() {
			if !has(v) {
				return false
			}
		}
		for _, v := range filters["label!"].GetValues() {
			if has(v) {
				return false
			}
		}
		return true
	}, nil
}

func clone(r *apiv1.Container) *apiv1.Container { return proto.Clone(r).(*apiv1.Container) }

package volume

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// Users names the containers that use a volume; nil for none.
type Users func(volume string) []string

// NewService returns the agent's Volumes gRPC service over s. users
// tells which containers use a volume: Remove refuses those, and the
// dangling filter and Prune leave them alone.
func NewService(s *Store, users Users) apiv1.VolumesServer {
	return &service{store: s, users: users}
}

type service struct {
	apiv1.UnimplementedVolumesServer
	store *Store
	users Users
}

var _ apiv1.VolumesServer = (*service)(nil)

func (svc *service) withRefs(v *apiv1.Volume) *apiv1.Volume {
	v.RefCount = int32(len(svc.users(v.Name)))
	return v
}

func (svc *service) Create(_ context.Context, req *apiv1.CreateVolumeRequest) (*apiv1.Volume, error) {
	if d := req.GetDriver(); d != "" && d != Driver {
		return nil, fmt.Errorf("volume driver %q: only the local driver exists here; leave --driver out: %w", d, errdefs.ErrInvalidArgument)
	}
	v, _, err := svc.store.Create(req.GetName(), req.GetLabels(), req.GetOptions())
	if err != nil {
		return nil, err
	}
	return svc.withRefs(v), nil
}

func (svc *service) Inspect(_ context.Context, req *apiv1.VolumeRef) (*apiv1.Volume, error) {
	v, err := svc.store.Get(req.GetName())
	if err != nil {
		return nil, err
	}
	return svc.withRefs(v), nil
}

func (svc *service) List(_ context.Context, req *apiv1.ListVolumesRequest) (*apiv1.ListVolumesResponse, error) {
	keep, err := Filter(req.GetFilters(), false)
	if err != nil {
		return nil, err
	}
	var out []*apiv1.Volume
	for _, v := range svc.store.List() {
		if v = svc.withRefs(v); keep(v) {
			out = append(out, v)
		}
	}
	return &apiv1.ListVolumesResponse{Volumes: out}, nil
}

func (svc *service) Remove(_ context.Context, req *apiv1.RemoveVolumeRequest) (*apiv1.Empty, error) {
	name := req.GetName()
	if _, err := svc.store.Get(name); err != nil {
		if errdefs.IsNotFound(err) && req.GetForce() {
			return &apiv1.Empty{}, nil
		}
		return nil, err
	}
	if users := svc.users(name); len(users) > 0 {
		return nil, fmt.Errorf("remove %s: volume is in use - [%s]: remove the container first (skiff rm %s): %w", name, strings.Join(users, ", "), users[0], errdefs.ErrConflict)
	}
	return &apiv1.Empty{}, svc.store.Remove(name)
}

func (svc *service) Prune(_ context.Context, req *apiv1.PruneVolumesRequest) (*apiv1.PruneVolumesResponse, error) {
	keep, err := Filter(req.GetFilters(), true)
	if err != nil {
		return nil, err
	}
	resp := &apiv1.PruneVolumesResponse{}
	var errs []error
	for _, v := range svc.store.List() {
		if len(svc.users(v.Name)) > 0 || !keep(v) {
			continue
		}
		size := dirSize(v.Mountpoint)
		if err := svc.store.Remove(v.Name); err != nil {
			errs = append(errs, err)
			continue
		}
		resp.Deleted = append(resp.Deleted, v.Name)
		resp.SpaceReclaimed += uint64(size)
	}
	return resp, errors.Join(errs...)
}

// Filter returns the test of docker's volume filters: dangling, name
// (a substring), label (key or key=value), driver; for prune also all
// (without all=true, prune takes only anonymous volumes, as docker's).
// Values of one key are alternatives; keys must all match.
func Filter(filters map[string]*apiv1.FilterValues, prune bool) (func(*apiv1.Volume) bool, error) {
	var tests []func(*apiv1.Volume) bool
	all := !prune
	for key, fv := range filters {
		vals := fv.GetValues()
		switch key {
		case "dangling":
			want := map[bool]bool{}
			for _, v := range vals {
				switch strings.ToLower(v) {
				case "true", "1":
					want[true] = true
				case "false", "0":
					want[false] = true
				default:
					return nil, fmt.Errorf("invalid filter 'dangling=%s': use true or false: %w", v, errdefs.ErrInvalidArgument)
				}
			}
			tests = append(tests, func(v *apiv1.Volume) bool { return want[v.RefCount == 0] })
		case "name":
			tests = append(tests, func(v *apiv1.Volume) bool {
				for _, s := range vals {
					if strings.Contains(v.Name, s) {
						return true
					}
				}
				return false
			})
		case "driver":
			tests = append(tests, func(v *apiv1.Volume) bool {
				for _, s := range vals {
					if v.Driver == s {
						return true
					}
				}
				return false
			})
		case "label":
			// Every label given must match, as docker's.
			tests = append(tests, func(v *apiv1.Volume) bool {
				for _, s := range vals {
					k, val, hasVal := strings.Cut(s, "=")
					if got, ok := v.Labels[k]; !ok || (hasVal && got != val) {
						return false
					}
				}
				return true
			})
		case "all":
			if !prune {
				return nil, fmt.Errorf("invalid filter 'all': it applies only to prune: %w", errdefs.ErrInvalidArgument)
			}
			for _, v := range vals {
				all = all || strings.EqualFold(v, "true") || v == "1"
			}
		default:
			return nil, fmt.Errorf("invalid filter '%s': use dangling, name, label or driver: %w", key, errdefs.ErrInvalidArgument)
		}
	}
	return func(v *apiv1.Volume) bool {
		if !all && !v.Anonymous {
			return false
		}
		for _, t := range tests {
			if !t(v) {
				return false
			}
		}
		return true
	}, nil
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

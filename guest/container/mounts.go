package container

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// VolumeStore keeps the volumes containers mount.
type VolumeStore interface {
	// Create makes volume name (an anonymous one, with a random name,
	// when name is "") or finds the existing one, and returns its name,
	// its data folder, and whether it made it.
	Create(name string, labels map[string]string) (string, string, bool, error)
	Remove(name string) error
}

// anonymousVolumes is a VolumeStore that knows which volumes were made
// anonymous. A volume named in a mount may still be one: docker compose
// recreates a container with its predecessor's anonymous volumes mounted
// by name, and docker still removes those with the container (rm -v).
type anonymousVolumes interface {
	Anonymous(name string) bool
}

// Mount types, as docker names them.
const (
	mountBind   = "bind"
	mountVolume = "volume"
)

// resolveMounts turns the binds and volumes of a create request, the
// anonymous volumes of -v /path and the image's VOLUMEs into the
// container's mount points, making the volumes that do not exist yet.
// undo removes the volumes it made.
func (m *Manager) resolveMounts(cfg *apiv1.ContainerConfig, hc *apiv1.HostConfig, img *apiv1.ImageConfig) (_ []*apiv1.MountPoint, _ func(), retErr error) {
	var mps []*apiv1.MountPoint
	var made []string
	undo := func() {
		for _, name := range made {
			_ = m.volumes.Remove(name)
		}
	}
	defer func() {
		if retErr != nil {
			undo()
		}
	}()
	seen := map[string]bool{}
	for _, t := range hc.Tmpfs {
		dst, _, _ := strings.Cut(t, ":")
		seen[path.Clean(dst)] = true
	}
	volume := func(name, dst string, labels map[string]string, ro, noCopy bool, mode string) error {
		if m.volumes == nil {
			return fmt.Errorf("volume at %s: this agent keeps no volumes: %w", dst, errdefs.ErrNotImplemented)
		}
		got, dir, created, err := m.volumes.Create(name, labels)
		if err != nil {
			return err
		}
		if created {
			made = append(made, got)
		}
		anonymous := name == ""
		if av, ok := m.volumes.(anonymousVolumes); ok && !anonymous {
			anonymous = av.Anonymous(got)
		}
		mps = append(mps, &apiv1.MountPoint{
			Type: mountVolume, Name: got, Source: dir, Destination: dst, Driver: "local",
			Mode: mode, Rw: !ro, Anonymous: anonymous, NoCopy: noCopy,
		})
		return nil
	}
	for _, mt := range hc.Mounts {
		dst := path.Clean(mt.Target)
		if !path.IsAbs(dst) || dst == "/" {
			return nil, nil, fmt.Errorf("invalid mount path %q: mount at an absolute path other than /: %w", mt.Target, errdefs.ErrInvalidArgument)
		}
		if seen[dst] {
			return nil, nil, fmt.Errorf("duplicate mount point: %s: mount one thing at each path: %w", dst, errdefs.ErrInvalidArgument)
		}
		seen[dst] = true
		switch mt.Type {
		case mountBind:
			if !path.IsAbs(mt.Source) {
				return nil, nil, fmt.Errorf("bind source %q must be an absolute path: %w", mt.Source, errdefs.ErrInvalidArgument)
			}
			host := mt.HostSource
			if host == "" {
				host = mt.Source
			}
			prop := mt.Propagation
			if prop == "" {
				prop = "rprivate"
			}
			mps = append(mps, &apiv1.MountPoint{
				Type: mountBind, Source: path.Clean(mt.Source), HostSource: host, Destination: dst,
				Mode: mt.Mode, Rw: !mt.ReadOnly, Propagation: prop, NonRecursive: mt.NonRecursive,
			})
		case mountVolume:
			if err := volume(mt.Source, dst, mt.VolumeLabels, mt.ReadOnly, mt.NoCopy, mt.Mode); err != nil {
				return nil, nil, err
			}
		default:
			return nil, nil, fmt.Errorf("mount type %q: use bind or volume: %w", mt.Type, errdefs.ErrInvalidArgument)
		}
	}
	anon := append(append([]string{}, cfg.Volumes...), img.GetVolumes()...)
	for _, p := range anon {
		dst := path.Clean(p)
		if seen[dst] || !path.IsAbs(dst) || dst == "/" {
			// A user's mount at an image's VOLUME replaces it.
			continue
		}
		seen[dst] = true
		if err := volume("", dst, nil, false, false, ""); err != nil {
			return nil, nil, err
		}
	}
	// Parents before children, so a mount inside another lands on it.
	sort.SliceStable(mps, func(i, j int) bool {
		return strings.Count(mps[i].Destination, "/") < strings.Count(mps[j].Destination, "/")
	})
	return mps, undo, nil
}

// specMounts are the runtime mounts of a container's binds and volumes.
// A volume that is still empty first gets the image's content at its
// destination (docker's copy-up), unless nocopy.
func specMounts(rootfs string, mps []*apiv1.MountPoint) ([]specs.Mount, error) {
	var out []specs.Mount
	for _, mp := range mps {
		if mp.Type == mountVolume && !mp.NoCopy {
			if err := copyUp(rootfs, mp.Destination, mp.Source); err != nil {
				return nil, fmt.Errorf("fill volume %s from the image: %w", mp.Name, err)
			}
		}
		opts := []string{"rbind"}
		if mp.NonRecursive {
			opts[0] = "bind"
		}
		prop := mp.Propagation
		if prop == "" {
			prop = "rprivate"
		}
		opts = append(opts, prop)
		if !mp.Rw {
			opts = append(opts, "ro")
		}
		out = append(out, specs.Mount{Destination: mp.Destination, Type: "bind", Source: mp.Source, Options: opts})
	}
	return out, nil
}

// VolumeUsers names the containers that mount volume name.
func (m *Manager) VolumeUsers(name string) []string {
	var out []string
	for _, c := range m.all() {
		c.mu.Lock()
		for _, mp := range c.rec.Mounts {
			if mp.Type == mountVolume && mp.Name == name {
				out = append(out, c.rec.Name)
				break
			}
		}
		c.mu.Unlock()
	}
	return out
}

// releaseVolumes removes the anonymous volumes of a removed container
// (rm -v, --rm); named ones stay, as with docker.
func (m *Manager) releaseVolumes(rec *apiv1.Container) error {
	if m.volumes == nil {
		return nil
	}
	var errs []error
	for _, mp := range rec.Mounts {
		if mp.Type != mountVolume || !mp.Anonymous || len(m.VolumeUsers(mp.Name)) > 0 {
			continue
		}
		if err := m.volumes.Remove(mp.Name); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove volume %s: %w", mp.Name, err))
		}
	}
	return errors.Join(errs...)
}

package container

import (
	"context"
	"os"
	"path/filepath"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// Snapshot calls fn with container ref's record, its image's layer
// directories (lowest first) and its writable upper directory, for
// commit and diff. With pause, a running container is frozen for the
// time of fn, so that the upper directory holds still, and thawed after.
// skip names the paths of the upper directory that are the agent's, not
// the container's: the empty files its /etc binds are mounted on.
func (m *Manager) Snapshot(ctx context.Context, ref string, pause bool, fn func(rec *apiv1.Container, layers []string, upper string, skip func(rel string) bool) error) error {
	c, err := m.get(ref)
	if err != nil {
		return err
	}
	rec, err := m.Inspect(c.rec.Id)
	if err != nil {
		return err
	}
	img, err := m.imageOf(ctx, rec)
	if err != nil {
		return err
	}
	if pause && rec.GetState().GetRunning() && !rec.GetState().GetPaused() {
		if err := m.Pause(rec.Id); err != nil {
			return err
		}
		defer func() {
			if err := m.Unpause(rec.Id); err != nil {
				m.log.Error("unpause container after commit", "id", rec.Id, "err", err)
			}
		}()
	}
	upper := filepath.Join(c.dir, "upper")
	return fn(rec, img.Layers, upper, func(rel string) bool { return mountTarget(upper, rel) })
}

// etcTargets are the files a container gets bind-mounted over from its
// directory; an image that lacks one gets an empty one in the upper
// directory to mount on.
var etcTargets = map[string]bool{"etc/hostname": true, "etc/hosts": true, "etc/resolv.conf": true}

// mountTarget reports whether rel in upper is only such a mount target,
// which diff and commit leave out, as docker keeps them out of the
// container's layer.
func mountTarget(upper, rel string) bool {
	if !etcTargets[rel] {
		return false
	}
	fi, err := os.Lstat(filepath.Join(upper, rel))
	return err == nil && fi.Mode().IsRegular() && fi.Size() == 0
}

// WithRoot calls fn with container ref's merged root filesystem, running
// or not, for export.
func (m *Manager) WithRoot(ctx context.Context, ref string, fn func(root string) error) error {
	return m.withRoot(ctx, ref, fn)
}

package container

import (
	"context"
	"path/filepath"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// Snapshot calls fn with container ref's record, its image's layer
// directories (lowest first) and its writable upper directory, for
// commit and diff. With pause, a running container is frozen for the
// time of fn, so that the upper directory holds still, and thawed after.
func (m *Manager) Snapshot(ctx context.Context, ref string, pause bool, fn func(rec *apiv1.Container, layers []string, upper string) error) error {
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
	return fn(rec, img.Layers, filepath.Join(c.dir, "upper"))
}

// WithRoot calls fn with container ref's merged root filesystem, running
// or not, for export.
func (m *Manager) WithRoot(ctx context.Context, ref string, fn func(root string) error) error {
	return m.withRoot(ctx, ref, fn)
}

package container

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// Pause freezes every process of running container ref.
func (m *Manager) Pause(ref string) error {
	c, err := m.get(ref)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	rec := c.rec
	switch {
	case c.run == nil || rec.State.Restarting:
		return fmt.Errorf("container %s is not running: start it first (skiff start %s): %w", rec.Id, rec.Name, errdefs.ErrConflict)
	case rec.State.Paused:
		return fmt.Errorf("container %s is already paused: %w", rec.Id, errdefs.ErrConflict)
	}
	if err := m.rt.Pause(rec.Id); err != nil {
		return fmt.Errorf("pause container %s: %w", rec.Name, err)
	}
	rec.State.Paused = true
	rec.State.Status = "paused"
	c.saveState()
	c.notify()
	m.emit(rec, "pause", nil)
	return nil
}

// Unpause thaws paused container ref.
func (m *Manager) Unpause(ref string) error {
	c, err := m.get(ref)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	rec := c.rec
	if c.run == nil || !rec.State.Paused {
		return fmt.Errorf("container %s is not paused: %w", rec.Id, errdefs.ErrConflict)
	}
	if err := m.thawLocked(c); err != nil {
		return fmt.Errorf("unpause container %s: %w", rec.Name, err)
	}
	m.emit(rec, "unpause", nil)
	return nil
}

// thawLocked resumes c's processes if they are paused. Call with c.mu
// held.
func (m *Manager) thawLocked(c *ctr) error {
	rec := c.rec
	if !rec.State.Paused {
		return nil
	}
	if err := m.rt.Resume(rec.Id); err != nil {
		return err
	}
	rec.State.Paused = false
	rec.State.Status = "running"
	c.saveState()
	c.notify()
	return nil
}

// thaw resumes c if it is paused, so that a signal sent to stop or kill
// it is delivered: a frozen process acts on none.
func (m *Manager) thaw(c *ctr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := m.thawLocked(c); err != nil {
		m.log.Error("thaw container", "id", c.rec.Id, "err", err)
	}
}

// FreezerService serves the Freezer gRPC API from a Manager.
type FreezerService struct {
	apiv1.UnimplementedFreezerServer
	m *Manager
}

var _ apiv1.FreezerServer = (*FreezerService)(nil)

// NewFreezerService returns the Freezer service of m.
func NewFreezerService(m *Manager) *FreezerService { return &FreezerService{m: m} }

func (s *FreezerService) Pause(_ context.Context, req *apiv1.ContainerRef) (*apiv1.Empty, error) {
	return &apiv1.Empty{}, s.m.Pause(req.Id)
}

func (s *FreezerService) Unpause(_ context.Context, req *apiv1.ContainerRef) (*apiv1.Empty, error) {
	return &apiv1.Empty{}, s.m.Unpause(req.Id)
}

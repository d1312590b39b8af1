package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/containerd/errdefs"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

const defaultStopTimeout = 10 * time.Second

// Stop asks container ref to stop with its stop signal (or sig when
// given), and kills it when it has not stopped after timeout (negative:
// the container's own, else 10 s). A stopped container is left as is. The
// restart policy does not bring a stopped container back.
func (m *Manager) Stop(ctx context.Context, ref string, timeout time.Duration, sig string) error {
	c, err := m.get(ref)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.rec.ManuallyStopped = true
	c.cancelRestart()
	c.saveState()
	ex := c.run
	signal := stopSignal(c.rec)
	if timeout < 0 {
		timeout = defaultStopTimeout
		if c.rec.Config.StopTimeoutSet && c.rec.Config.StopTimeout >= 0 {
			timeout = time.Duration(c.rec.Config.StopTimeout) * time.Second
		}
	}
	id := c.rec.Id
	rec := clone(c.rec)
	c.mu.Unlock()
	if sig != "" {
		if signal, err = ParseSignal(sig); err != nil {
			return err
		}
	}
	if ex == nil {
		return nil
	}
	m.emitSignal(rec, int(signal))
	if err := m.rt.Signal(id, signal); err != nil && !errdefs.IsFailedPrecondition(err) {
		return fmt.Errorf("stop container %s: %w", ref, err)
	}
	m.thaw(c)
	select {
	case <-ex.done:
	case <-time.After(timeout):
		if err := m.killAndWait(ctx, rec, ex); err != nil {
			return err
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	m.emit(rec, "stop", nil)
	return nil
}

func (m *Manager) killAndWait(ctx context.Context, rec *apiv1.Container, ex *execution) error {
	id := rec.Id
	m.emitSignal(rec, int(sigKILL))
	if err := m.rt.Signal(id, sigKILL); err != nil && !errdefs.IsFailedPrecondition(err) {
		return fmt.Errorf("kill container %s: %w", id, err)
	}
	if c, err := m.get(id); err == nil {
		m.thaw(c)
	}
	select {
	case <-ex.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Kill sends sig (default SIGKILL) to container ref's first process.
func (m *Manager) Kill(ctx context.Context, ref, sig string) error {
	signal := sigKILL
	if sig != "" {
		var err error
		if signal, err = ParseSignal(sig); err != nil {
			return err
		}
	}
	c, err := m.get(ref)
	if err != nil {
		return err
	}
	c.mu.Lock()
	ex := c.run
	if ex == nil {
		c.mu.Unlock()
		return fmt.Errorf("container %s is not running: %w", ref, errdefs.ErrConflict)
	}
	// A kill meant to end the container keeps its restart policy from
	// bringing it back, as with Docker.
	if signal == sigKILL || signal == stopSignal(c.rec) {
		c.rec.ManuallyStopped = true
		c.saveState()
	}
	id := c.rec.Id
	rec := clone(c.rec)
	c.mu.Unlock()
	m.emitSignal(rec, int(signal))
	if err := m.rt.Signal(id, signal); err != nil {
		return fmt.Errorf("kill container %s: %w", ref, err)
	}
	m.thaw(c)
	return nil
}

// Restart stops container ref, as Stop does, and starts it again.
func (m *Manager) Restart(ctx context.Context, ref string, timeout time.Duration, sig string) error {
	if err := m.Stop(ctx, ref, timeout, sig); err != nil {
		return err
	}
	if err := m.Start(ctx, ref); err != nil {
		return err
	}
	if c, err := m.get(ref); err == nil {
		m.emit(c.snapshot(), "restart", nil)
	}
	return nil
}

// Remove removes container ref; a running one only with force, which
// kills it first.
func (m *Manager) Remove(ctx context.Context, ref string, force, volumes bool) error {
	c, err := m.get(ref)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.cancelRestart()
	ex := c.run
	c.removeVolumes = c.removeVolumes || volumes
	if ex != nil && !force {
		c.mu.Unlock()
		return fmt.Errorf("you cannot remove a running container %s: stop it first (skiff stop %s) or force the removal with skiff rm -f: %w", c.rec.Id, c.rec.Name, errdefs.ErrConflict)
	}
	if ex != nil {
		// Keep the restart policy and auto-remove out of the way.
		c.rec.ManuallyStopped = true
		c.rec.HostConfig.AutoRemove = false
	}
	rec := clone(c.rec)
	c.mu.Unlock()
	if ex != nil {
		if err := m.killAndWait(ctx, rec, ex); err != nil {
			return err
		}
	}
	return m.removeStopped(c)
}

// removeStopped deletes a stopped container's files and record. The
// record goes first, so an agent killed halfway never lists a container
// whose files are gone; the directory is then swept at the next start.
func (m *Manager) removeStopped(c *ctr) error {
	c.mu.Lock()
	if c.removed {
		c.mu.Unlock()
		return nil
	}
	if c.run != nil {
		c.mu.Unlock()
		return fmt.Errorf("container %s started again while being removed: %w", c.rec.Id, errdefs.ErrConflict)
	}
	c.cancelRestart()
	id, name := c.rec.Id, c.rec.Name
	c.removed = true
	c.rec.State.Status = "removing"
	c.mu.Unlock()

	var errs []error
	if err := unmountRootfs(c.rec.Rootfs); err != nil {
		errs = append(errs, err)
	}
	if err := m.rt.Destroy(id); err != nil {
		errs = append(errs, err)
	}
	m.detachNetwork(id)
	m.releaseNetwork(id)
	if err := c.log.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close log: %w", err))
	}
	// A state change still on its way to the disk must not bring the
	// record back.
	c.file.Close()
	if err := os.Remove(c.dir + "/" + recordFile); err != nil && !os.IsNotExist(err) {
		errs = append(errs, fmt.Errorf("remove record: %w", err))
	}
	if err := os.RemoveAll(c.dir); err != nil {
		errs = append(errs, fmt.Errorf("remove container files: %w", err))
	}
	m.mu.Lock()
	delete(m.byID, id)
	if m.names[name] == id {
		delete(m.names, name)
	}
	m.mu.Unlock()
	if c.removeVolumes || c.rec.HostConfig.AutoRemove {
		errs = append(errs, m.releaseVolumes(c.rec))
	}
	c.mu.Lock()
	c.gone = true
	c.notify()
	rec := clone(c.rec)
	c.mu.Unlock()
	m.emit(rec, "destroy", nil)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	return nil
}

// Prune removes every stopped container that passes keep, and returns
// their ids and the space their writable layers took.
func (m *Manager) Prune(ctx context.Context, keep func(*ctr) bool) ([]string, uint64, error) {
	var ids []string
	var space uint64
	var errs []error
	for _, c := range m.all() {
		c.mu.Lock()
		stopped := c.run == nil && c.restart == nil
		c.mu.Unlock()
		if !stopped || !keep(c) {
			continue
		}
		size := dirSize(c.dir + "/upper")
		if err := m.removeStopped(c); err != nil {
			errs = append(errs, err)
			continue
		}
		ids = append(ids, c.rec.Id)
		space += uint64(size)
	}
	return ids, space, errors.Join(errs...)
}

package container

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/skiffrun/skiff/guest/api/atomicfile"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// exitAgentStopped is the exit code of a container that was running when
// the agent itself stopped without stopping it, as Docker reports.
const exitAgentStopped = 255

// restore loads the records under m.root, cleans up after containers that
// were running when the agent died, and starts again those whose policy
// says so.
func (m *Manager) restore(ctx context.Context) error {
	entries, err := os.ReadDir(m.root)
	if err != nil {
		return fmt.Errorf("read containers dir: %w", err)
	}
	var died, all []*ctr
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(m.root, e.Name())
		c, wasRunning, err := m.load(dir)
		if err != nil {
			m.log.Warn("removing an incomplete container", "dir", dir, "err", err)
			_ = unmountRootfs(filepath.Join(dir, "rootfs"))
			_ = m.rt.Destroy(e.Name())
			if err := os.RemoveAll(dir); err != nil {
				m.log.Error("remove incomplete container", "dir", dir, "err", err)
			}
			continue
		}
		m.byID[c.rec.Id] = c
		m.names[c.rec.Name] = c.rec.Id
		all = append(all, c)
		if wasRunning {
			died = append(died, c)
		}
	}
	if ids, err := m.rt.Leftovers(); err == nil {
		for _, id := range ids {
			if _, ok := m.byID[id]; !ok {
				_ = m.rt.Destroy(id)
			}
		}
	}
	for _, c := range died {
		if c.rec.HostConfig.AutoRemove {
			if err := m.removeStopped(c); err != nil {
				m.log.Error("remove container", "id", c.rec.Id, "err", err)
			}
		}
	}
	for _, c := range all {
		c.mu.Lock()
		rec := c.rec
		wasRunning := false
		for _, d := range died {
			wasRunning = wasRunning || d == c
		}
		again := !c.removed && (restartsOnBoot(rec) && rec.State.StartedAt != 0 ||
			wasRunning && shouldRestart(rec.HostConfig.RestartPolicy, exitAgentStopped, rec.RestartCount, rec.ManuallyStopped))
		if again {
			if err := m.startLocked(ctx, c); err != nil {
				m.log.Error("restart container", "id", rec.Id, "err", err)
			}
		}
		c.mu.Unlock()
	}
	return nil
}

// load reads one container's record and brings it to a stopped state.
func (m *Manager) load(dir string) (*ctr, bool, error) {
	data, err := os.ReadFile(filepath.Join(dir, recordFile))
	if err != nil {
		return nil, false, fmt.Errorf("read record: %w", err)
	}
	rec := &apiv1.Container{}
	if err := protojson.Unmarshal(data, rec); err != nil {
		return nil, false, fmt.Errorf("decode record: %w", err)
	}
	if rec.Id != filepath.Base(dir) || rec.State == nil || rec.Config == nil || rec.HostConfig == nil {
		return nil, false, fmt.Errorf("record of %s does not match its directory", rec.Id)
	}
	if rec.State.Status == "removing" {
		return nil, false, fmt.Errorf("container %s was being removed", rec.Id)
	}
	// Temp files of writes that a crash cut short.
	if tmps, _ := filepath.Glob(filepath.Join(dir, atomicfile.TempPrefix+"*")); len(tmps) > 0 {
		for _, t := range tmps {
			_ = os.Remove(t)
		}
	}
	lf, err := openLog(rec.LogPath)
	if err != nil {
		return nil, false, err
	}
	c := newCtr(dir, lf, rec, m.log)
	st := rec.State
	wasRunning := st.Running || st.Restarting || st.Paused || st.Status == "running" || st.Status == "restarting" || st.Status == "paused"
	_ = m.rt.Destroy(rec.Id)
	_ = unmountRootfs(rec.Rootfs)
	if wasRunning {
		rec.State = &apiv1.ContainerState{
			Status:     "exited",
			ExitCode:   exitAgentStopped,
			StartedAt:  st.StartedAt,
			FinishedAt: time.Now().UnixNano(),
			Error:      "the agent stopped while the container was running",
		}
		if err := c.save(); err != nil {
			return nil, false, err
		}
	}
	return c, wasRunning, nil
}

// Shutdown stops every running container, as the agent stops: each gets
// its stop signal and its stop timeout, then SIGKILL. Restart policies
// still apply at the agent's next start.
func (m *Manager) Shutdown(ctx context.Context) {
	var wg sync.WaitGroup
	for _, c := range m.all() {
		c.mu.Lock()
		c.cancelRestart()
		ex := c.run
		c.shutdown = true
		rec := c.rec
		c.mu.Unlock()
		if ex == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			timeout := defaultStopTimeout
			if rec.Config.StopTimeoutSet && rec.Config.StopTimeout >= 0 {
				timeout = time.Duration(rec.Config.StopTimeout) * time.Second
			}
			_ = m.rt.Signal(rec.Id, stopSignal(rec))
			m.thaw(c)
			select {
			case <-ex.done:
				return
			case <-time.After(timeout):
			case <-ctx.Done():
			}
			_ = m.killAndWait(context.Background(), rec, ex)
		}()
	}
	wg.Wait()
	m.Flush()
}

// Flush returns once every container's last change of state is on disk.
func (m *Manager) Flush() {
	for _, c := range m.all() {
		c.file.Flush()
	}
}

// Logs sends container ref's log entries that req selects, then, with
// follow, what the container writes until it stops.
func (m *Manager) Logs(ctx context.Context, req *apiv1.LogsRequest, send func(*apiv1.LogEntry) error) error {
	c, err := m.get(req.Id)
	if err != nil {
		return err
	}
	keep := func(e *apiv1.LogEntry) bool {
		if req.Since != 0 && e.Time < req.Since || req.Until != 0 && e.Time > req.Until {
			return false
		}
		if !req.Stdout && !req.Stderr {
			return true
		}
		return e.Stream == apiv1.StreamKind_STREAM_STDERR && req.Stderr || e.Stream != apiv1.StreamKind_STREAM_STDERR && req.Stdout
	}
	limit := int64(math.MaxInt64)
	var feed <-chan *apiv1.LogEntry
	if req.Follow {
		var stop func()
		limit, feed, stop = c.log.follow()
		defer stop()
	}
	tail := req.Tail
	if tail < 0 {
		tail = -1
	}
	entries, err := readLog(c.log.path, limit, tail, keep)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := send(e); err != nil {
			return err
		}
	}
	if feed == nil {
		return nil
	}
	c.mu.Lock()
	running := c.run != nil || c.restart != nil
	c.mu.Unlock()
	if !running {
		return nil
	}
	for {
		select {
		case e, ok := <-feed:
			if !ok {
				return nil
			}
			if keep(e) {
				if err := send(e); err != nil {
					return err
				}
			}
		case <-ctx.Done():
			return nil
		}
	}
}

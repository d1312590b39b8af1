package container

import (
	"context"
	"fmt"
	"time"

	"github.com/containerd/errdefs"
	"google.golang.org/protobuf/proto"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// Docker's health check defaults and limits.
const (
	defaultHealthInterval = 30 * time.Second
	defaultHealthTimeout  = 30 * time.Second
	defaultStartInterval  = 5 * time.Second
	defaultHealthRetries  = 3
	// healthLogSize is how many results State.Health.Log keeps.
	healthLogSize = 5
	// healthOutputMax is how much of a check's output a result keeps.
	healthOutputMax = 4096
)

// Health statuses, docker's words.
const (
	healthStarting  = "starting"
	healthHealthy   = "healthy"
	healthUnhealthy = "unhealthy"
)

// mergeHealthcheck is the container's check: its own fields where set,
// the image's for the rest, as docker merges them at create.
func mergeHealthcheck(own, img *apiv1.HealthConfig) (*apiv1.HealthConfig, error) {
	if own == nil {
		if img == nil {
			return nil, nil
		}
		return proto.Clone(img).(*apiv1.HealthConfig), nil
	}
	hc := proto.Clone(own).(*apiv1.HealthConfig)
	if len(hc.Test) == 0 {
		hc.Test = img.GetTest()
	}
	if hc.Interval == 0 {
		hc.Interval = img.GetInterval()
	}
	if hc.Timeout == 0 {
		hc.Timeout = img.GetTimeout()
	}
	if hc.StartPeriod == 0 {
		hc.StartPeriod = img.GetStartPeriod()
	}
	if hc.StartInterval == 0 {
		hc.StartInterval = img.GetStartInterval()
	}
	if hc.Retries == 0 {
		hc.Retries = img.GetRetries()
	}
	if hc.Interval < 0 || hc.Timeout < 0 || hc.StartPeriod < 0 || hc.StartInterval < 0 || hc.Retries < 0 {
		return nil, fmt.Errorf("invalid health check: intervals, timeout, start period and retries cannot be negative: %w", errdefs.ErrInvalidArgument)
	}
	if len(hc.Test) > 0 {
		switch hc.Test[0] {
		case "NONE":
		case "CMD", "CMD-SHELL":
			if len(hc.Test) < 2 {
				return nil, fmt.Errorf("invalid health check: %s needs a command: %w", hc.Test[0], errdefs.ErrInvalidArgument)
			}
		default:
			return nil, fmt.Errorf("invalid health check test %q: use NONE, CMD or CMD-SHELL: %w", hc.Test[0], errdefs.ErrInvalidArgument)
		}
	}
	return hc, nil
}

// healthArgs is the command a check runs, or nil when the container has
// no check.
func healthArgs(hc *apiv1.HealthConfig) []string {
	t := hc.GetTest()
	if len(t) < 2 {
		return nil
	}
	switch t[0] {
	case "CMD":
		return t[1:]
	case "CMD-SHELL":
		return []string{"/bin/sh", "-c", t[1]}
	}
	return nil
}

func orDefault(ns int64, def time.Duration) time.Duration {
	if ns <= 0 {
		return def
	}
	return time.Duration(ns)
}

// stoppedHealth is the health a stopped container shows: unhealthy, as
// docker says, with its log kept.
func stoppedHealth(h *apiv1.Health) *apiv1.Health {
	if h == nil {
		return nil
	}
	return &apiv1.Health{Status: healthUnhealthy, FailingStreak: h.FailingStreak, Log: h.Log}
}

// startHealth begins checking the health of c's run ex, when c has a
// check. Call with c.mu held, once the run's state is recorded; prev is
// the health of the run before, whose log carries over.
func (m *Manager) startHealth(c *ctr, ex *execution, prev *apiv1.Health) {
	hc := c.rec.Config.GetHealthcheck()
	args := healthArgs(hc)
	if args == nil {
		return
	}
	c.rec.State.Health = &apiv1.Health{Status: healthStarting, Log: prev.GetLog()}
	go m.checkHealth(c, ex, hc, args)
}

// checkHealth runs the check of ex at its intervals until ex ends.
func (m *Manager) checkHealth(c *ctr, ex *execution, hc *apiv1.HealthConfig, args []string) {
	interval := orDefault(hc.Interval, defaultHealthInterval)
	startInterval := orDefault(hc.StartInterval, defaultStartInterval)
	startPeriod := time.Duration(hc.StartPeriod)
	timeout := orDefault(hc.Timeout, defaultHealthTimeout)
	retries := int32(hc.Retries)
	if retries <= 0 {
		retries = defaultHealthRetries
	}
	next := func() time.Duration {
		if time.Since(ex.started) >= startPeriod {
			return interval
		}
		c.mu.Lock()
		starting := c.rec.State.GetHealth().GetStatus() == healthStarting
		c.mu.Unlock()
		if starting {
			return startInterval
		}
		return interval
	}
	t := time.NewTimer(next())
	defer t.Stop()
	for {
		select {
		case <-ex.done:
			return
		case <-t.C:
		}
		c.mu.Lock()
		paused := c.rec.State.GetPaused()
		c.mu.Unlock()
		if !paused {
			res := m.probe(c.rec.Id, args, timeout)
			m.recordHealth(c, ex, res, startPeriod, retries)
		}
		t.Reset(next())
	}
}

// probe runs the check once.
func (m *Manager) probe(id string, args []string, timeout time.Duration) *apiv1.HealthResult {
	start := time.Now()
	res := &apiv1.HealthResult{Start: start.UnixNano(), ExitCode: -1}
	gone := make(chan struct{})
	defer close(gone)
	p, err := m.Exec(context.Background(), &apiv1.ExecStart{ContainerId: id, Args: args}, gone)
	if err != nil {
		res.End = time.Now().UnixNano()
		res.Output = err.Error()
		return res
	}
	var out []byte
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	timedOut := false
	for {
		select {
		case msg, ok := <-p.Output:
			if !ok {
				res.End = time.Now().UnixNano()
				if timedOut {
					res.ExitCode = -1
					res.Output = fmt.Sprintf("Health check exceeded timeout (%v)", timeout)
				} else {
					res.Output = string(out)
				}
				return res
			}
			if o := msg.GetOutput(); o != nil && len(out) < healthOutputMax {
				out = append(out, o.Data...)
				if len(out) > healthOutputMax {
					out = out[:healthOutputMax]
				}
			}
			if e := msg.GetExit(); e != nil {
				res.ExitCode = e.Code
			}
		case <-deadline.C:
			timedOut = true
			_ = p.proc.Signal(sigKILL)
		}
	}
}

// recordHealth applies one result to c's health, docker's way: a success
// makes it healthy, retries failures in a row unhealthy, and failures
// while it is still starting, within the start period, do not count.
func (m *Manager) recordHealth(c *ctr, ex *execution, res *apiv1.HealthResult, startPeriod time.Duration, retries int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.rec.State.GetHealth()
	if c.run != ex || h == nil {
		return
	}
	old := h.Status
	h.Log = append(h.Log, res)
	if len(h.Log) > healthLogSize {
		h.Log = h.Log[len(h.Log)-healthLogSize:]
	}
	if res.ExitCode == 0 {
		h.FailingStreak = 0
		h.Status = healthHealthy
	} else if h.Status != healthStarting || time.Unix(0, res.Start).Sub(ex.started) >= startPeriod {
		h.FailingStreak++
		if h.FailingStreak >= retries {
			h.Status = healthUnhealthy
		}
	}
	c.saveState()
	if h.Status != old {
		m.emit(c.rec, "health_status: "+h.Status, nil)
	}
}

package container

import (
	"log/slog"
	"testing"
	"time"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

func TestMergeHealthcheck(t *testing.T) {
	img := &apiv1.HealthConfig{Test: []string{"CMD", "true"}, Interval: 5, Retries: 7}
	got, err := mergeHealthcheck(&apiv1.HealthConfig{Interval: 9}, img)
	if err != nil {
		t.Fatal(err)
	}
	if got.Test[0] != "CMD" || got.Interval != 9 || got.Retries != 7 {
		t.Fatalf("merged %v", got)
	}
	if got, _ := mergeHealthcheck(nil, nil); got != nil {
		t.Fatalf("no check anywhere gave %v", got)
	}
	for _, bad := range []*apiv1.HealthConfig{{Test: []string{"SHELL", "x"}}, {Test: []string{"CMD"}}, {Timeout: -1}} {
		if _, err := mergeHealthcheck(bad, nil); err == nil {
			t.Errorf("%v was accepted", bad)
		}
	}
}

// TestRecordHealth plays docker's state machine: failures in the start
// period do not count, a success is healthy, retries failures unhealthy.
func TestRecordHealth(t *testing.T) {
	m := &Manager{log: slog.Default()}
	started := time.Now().Add(-10 * time.Second)
	ex := &execution{started: started}
	c := newCtr(t.TempDir(), nil, &apiv1.Container{Id: "c", Config: &apiv1.ContainerConfig{}, State: &apiv1.ContainerState{Health: &apiv1.Health{Status: healthStarting}}}, nil)
	// The record is written in the background: done before the folder goes.
	t.Cleanup(c.file.Close)
	c.run = ex
	at := func(d time.Duration, code int32) *apiv1.HealthResult {
		return &apiv1.HealthResult{Start: started.Add(d).UnixNano(), ExitCode: code}
	}
	steps := []struct {
		res    *apiv1.HealthResult
		status string
		streak int32
	}{
		{at(time.Second, 1), healthStarting, 0}, // within the 5 s start period
		{at(6*time.Second, 1), healthStarting, 1},
		{at(7*time.Second, 0), healthHealthy, 0},
		{at(8*time.Second, 1), healthHealthy, 1},
		{at(9*time.Second, 2), healthUnhealthy, 2},
		{at(10*time.Second, 0), healthHealthy, 0},
	}
	for i, s := range steps {
		m.recordHealth(c, ex, s.res, 5*time.Second, 2)
		h := c.rec.State.Health
		if h.Status != s.status || h.FailingStreak != s.streak {
			t.Fatalf("step %d: %s streak %d, want %s streak %d", i, h.Status, h.FailingStreak, s.status, s.streak)
		}
	}
	if n := len(c.rec.State.Health.Log); n != healthLogSize {
		t.Fatalf("log holds %d results, want %d", n, healthLogSize)
	}
}

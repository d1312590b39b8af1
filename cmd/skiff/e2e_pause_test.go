//go:build e2e

package main_test

import (
	"strings"
	"testing"
	"time"
)

// TestPause freezes a container that counts, shows it paused in ps and
// inspect, refuses exec into it, thaws it, and stops it while paused.
func TestPause(t *testing.T) {
	name := "pause-count"
	cleanup(t, name)
	must(t, "run", "-d", "--name", name, busybox, "sh", "-c", "trap 'exit 0' TERM; i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done")
	lines := func() int { return len(strings.Fields(must(t, "logs", name))) }
	eventually(t, 10*time.Second, "the container's first lines", func() bool { return lines() > 2 })

	if out := must(t, "pause", name); out != name {
		t.Fatalf("pause printed %q, want the name", out)
	}
	if st := must(t, "inspect", "--format", "{{.State.Status}} {{.State.Paused}} {{.State.Running}}", name); st != "paused true true" {
		t.Fatalf("inspect of a paused container: %q", st)
	}
	if st := must(t, "ps", "--filter", "name="+name, "--format", "{{.Status}}"); !strings.HasSuffix(st, "(Paused)") {
		t.Fatalf("ps status of a paused container: %q", st)
	}
	if st := must(t, "ps", "--filter", "status=paused", "--format", "{{.Names}}"); st != name {
		t.Fatalf("ps --filter status=paused: %q", st)
	}
	frozen := lines()
	time.Sleep(time.Second)
	if n := lines(); n != frozen {
		t.Fatalf("the paused container wrote %d lines more", n-frozen)
	}
	if r := skiff(t, "pause", name); r.code != 125 || !strings.Contains(r.stderr, "already paused") {
		t.Fatalf("pausing twice: %s", r)
	}
	if r := skiff(t, "exec", name, "true"); r.code == 0 || !strings.Contains(r.stderr, "unpause") {
		t.Fatalf("exec into a paused container: %s", r)
	}

	must(t, "unpause", name)
	eventually(t, 10*time.Second, "the container counting again", func() bool { return lines() > frozen })
	if r := skiff(t, "unpause", name); r.code != 125 || !strings.Contains(r.stderr, "not paused") {
		t.Fatalf("unpausing a running container: %s", r)
	}

	// A paused container still stops, at its stop signal, without the
	// timeout's SIGKILL.
	must(t, "pause", name)
	start := time.Now()
	must(t, "stop", "-t", "20", name)
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("stopping a paused container took %v", d)
	}
	if st := must(t, "inspect", "--format", "{{.State.Status}} {{.State.Paused}}", name); st != "exited false" {
		t.Fatalf("inspect after stop: %q", st)
	}
	if r := skiff(t, "pause", name); r.code != 125 || !strings.Contains(r.stderr, "not running") {
		t.Fatalf("pausing a stopped container: %s", r)
	}
}

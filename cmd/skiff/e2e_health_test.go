//go:build e2e

package main_test

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestHealthFlags follows a container's health through docker's states:
// starting while its start period lasts, healthy once the check passes,
// unhealthy after --health-retries failures in a row, with the log,
// ps's status and the health_status events to show for it.
func TestHealthFlags(t *testing.T) {
	name := "health-flags"
	cleanup(t, name)
	since := strconv.FormatInt(time.Now().Add(-time.Second).Unix(), 10)
	must(t, "run", "-d", "--name", name, "--health-cmd", "cat /tmp/ok", "--health-interval", "300ms",
		"--health-start-period", "60s", "--health-start-interval", "200ms", "--health-retries", "2", busybox, "sleep", "600")
	health := func() string { return must(t, "inspect", "--format", "{{.State.Health.Status}}", name) }

	time.Sleep(time.Second) // failures within the start period do not count
	if h := health(); h != "starting" {
		t.Fatalf("health in the start period: %q", h)
	}
	if st := must(t, "ps", "--filter", "name="+name, "--format", "{{.Status}}"); !strings.HasSuffix(st, "(health: starting)") {
		t.Fatalf("ps status while starting: %q", st)
	}
	must(t, "exec", name, "touch", "/tmp/ok")
	eventually(t, 20*time.Second, "healthy", func() bool { return health() == "healthy" })
	if st := must(t, "ps", "--filter", "name="+name, "--format", "{{.Status}}"); !strings.HasSuffix(st, "(healthy)") {
		t.Fatalf("ps status when healthy: %q", st)
	}
	must(t, "exec", name, "rm", "/tmp/ok")
	eventually(t, 20*time.Second, "unhealthy", func() bool { return health() == "unhealthy" })
	if st := must(t, "ps", "--filter", "name="+name, "--format", "{{.Status}}"); !strings.HasSuffix(st, "(unhealthy)") {
		t.Fatalf("ps status when unhealthy: %q", st)
	}
	streak, _ := strconv.Atoi(must(t, "inspect", "--format", "{{.State.Health.FailingStreak}}", name))
	if streak < 2 {
		t.Fatalf("failing streak %d after turning unhealthy", streak)
	}
	entries := strings.Split(must(t, "inspect", "--format", "{{range .State.Health.Log}}{{.ExitCode}} {{.Output}}|{{end}}", name), "|")
	last := entries[len(entries)-2]
	if !strings.HasPrefix(last, "1 ") || !strings.Contains(last, "/tmp/ok") {
		t.Fatalf("last health log entry: %q", last)
	}
	if n := must(t, "inspect", "--format", "{{len .State.Health.Log}}", name); n != "5" {
		t.Fatalf("health log holds %s entries, want docker's 5", n)
	}
	check := must(t, "inspect", "--format", "{{json .Config.Healthcheck}}", name)
	if check != `{"Test":["CMD-SHELL","cat /tmp/ok"],"Interval":300000000,"StartPeriod":60000000000,"StartInterval":200000000,"Retries":2}` {
		t.Fatalf("Config.Healthcheck: %s", check)
	}
	until := strconv.FormatInt(time.Now().Unix()+1, 10)
	evs := must(t, "events", "--since", since, "--until", until, "--filter", "container="+name, "--filter", "event=health_status", "--format", "{{.Action}}")
	if evs != "health_status: healthy\nhealth_status: unhealthy" {
		t.Fatalf("health events: %q", evs)
	}
	must(t, "kill", name)
	if h := health(); h != "unhealthy" {
		t.Fatalf("health of a stopped container: %q", h)
	}
}

// TestHealthTimeout shows a check that runs too long as docker records it.
func TestHealthTimeout(t *testing.T) {
	name := "health-timeout"
	cleanup(t, name)
	must(t, "run", "-d", "--name", name, "--health-cmd", "sleep 10", "--health-timeout", "300ms", "--health-interval", "500ms", busybox, "sleep", "600")
	out := func() string {
		return must(t, "inspect", "--format", "{{range .State.Health.Log}}{{.ExitCode}} {{.Output}}{{end}}", name)
	}
	eventually(t, 20*time.Second, "a timed-out check in the log", func() bool { return out() != "" })
	if o := out(); !strings.HasPrefix(o, "-1 Health check exceeded timeout (300ms)") {
		t.Fatalf("log of a timed-out check: %q", o)
	}
}

// TestHealthImage takes HEALTHCHECK from the Dockerfile, and
// --no-healthcheck turns it off.
func TestHealthImage(t *testing.T) {
	dir := buildContext(t, map[string]string{"Dockerfile": "FROM localhost/busybox\nHEALTHCHECK --interval=300ms --retries=4 CMD true\n"})
	removeImages(t, "health-image:1")
	buildOK(t, "-t", "health-image:1", dir)
	if c := must(t, "image", "inspect", "--format", "{{json .Config.Healthcheck}}", "health-image:1"); !strings.Contains(c, `"Test":["CMD-SHELL","true"]`) {
		t.Fatalf("image's Healthcheck: %s", c)
	}
	name, off := "health-image", "health-image-off"
	cleanup(t, name, off)
	must(t, "run", "-d", "--name", name, "health-image:1", "sleep", "600")
	eventually(t, 20*time.Second, "healthy", func() bool {
		return must(t, "inspect", "--format", "{{.State.Health.Status}}", name) == "healthy"
	})
	if r := must(t, "inspect", "--format", "{{.Config.Healthcheck.Retries}}", name); r != "4" {
		t.Fatalf("retries from the image: %s", r)
	}
	must(t, "run", "-d", "--name", off, "--no-healthcheck", "health-image:1", "sleep", "600")
	if h := must(t, "inspect", "--format", "{{if .State.Health}}checked{{else}}none{{end}} {{.Config.Healthcheck.Test}}", off); h != "none [NONE]" {
		t.Fatalf("--no-healthcheck: %q", h)
	}
	if r := skiff(t, "run", "--no-healthcheck", "--health-cmd", "true", busybox, "true"); r.code != 125 || !strings.Contains(r.stderr, "conflicts") {
		t.Fatalf("--no-healthcheck with --health-cmd: %s", r)
	}
}

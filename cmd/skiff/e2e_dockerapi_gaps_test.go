//go:build e2e

package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDockerAPIStats: docker stats --no-stream reads a running
// container's counters through the socket.
func TestDockerAPIStats(t *testing.T) {
	startForDocker(t)
	for _, c := range dockerCLIs(t) {
		t.Run(c.name, func(t *testing.T) {
			name := "e2e-dapi-stats-" + c.name
			cleanup(t, name)
			c.must(t, "run", "-d", "--name", name, busybox, "sleep", "300")
			out := c.must(t, "stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}} {{.MemUsage}}", name)
			f := strings.Fields(out)
			if len(f) < 3 || f[0] != name || f[1] != "1" || !strings.Contains(out, "/") || strings.HasPrefix(f[2], "0B") {
				t.Errorf("docker stats --no-stream: %q, want the name, 1 pid and a memory usage", out)
			}
			if r := c.run(t, "", "stats", "--no-stream", "e2e-dapi-no-such"); r.code == 0 {
				t.Errorf("stats of a missing container: %s", r)
			}
		})
	}
}

// TestDockerAPICp: docker cp both ways through the socket's archive
// endpoints, into a directory and under a new name, and docker's error for
// a missing path.
func TestDockerAPICp(t *testing.T) {
	startForDocker(t)
	for _, c := range dockerCLIs(t) {
		t.Run(c.name, func(t *testing.T) {
			name := "e2e-dapi-cp-" + c.name
			cleanup(t, name)
			c.must(t, "run", "-d", "--name", name, busybox, "sh", "-c", "mkdir -p /data/sub && echo inside > /data/sub/f && sleep 300")
			dir := t.TempDir()
			eventually(t, 10*time.Second, "the container's file", func() bool {
				return c.run(t, "", "exec", name, "test", "-f", "/data/sub/f").code == 0
			})
			c.must(t, "cp", name+":/data", dir)
			if b, err := os.ReadFile(filepath.Join(dir, "data", "sub", "f")); err != nil || string(b) != "inside\n" {
				t.Errorf("docker cp out of the container: %q, %v", b, err)
			}
			c.must(t, "cp", name+":/data/sub/f", filepath.Join(dir, "renamed"))
			if b, err := os.ReadFile(filepath.Join(dir, "renamed")); err != nil || string(b) != "inside\n" {
				t.Errorf("docker cp of a file to a new name: %q, %v", b, err)
			}
			host := filepath.Join(dir, "host.txt")
			if err := os.WriteFile(host, []byte("from host\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			c.must(t, "cp", host, name+":/data/")
			c.must(t, "cp", host, name+":/data/new.txt")
			if got := c.must(t, "exec", name, "cat", "/data/host.txt", "/data/new.txt"); got != "from host\nfrom host" {
				t.Errorf("docker cp into the container: %q", got)
			}
			r := c.run(t, "", "cp", name+":/no/such", dir)
			// The 20.10 CLI words any 404 so itself.
			if r.code == 0 || !strings.Contains(r.stderr, "Could not find the file /no/such") && !strings.Contains(r.stderr, "No such container:path") {
				t.Errorf("docker cp of a missing path: %s", r)
			}
		})
	}
}

// TestDockerAPIHealthcheck: docker run's --health-* flags travel in the
// create body, and inspect's State.Health has docker's shape.
func TestDockerAPIHealthcheck(t *testing.T) {
	startForDocker(t)
	for _, c := range dockerCLIs(t) {
		t.Run(c.name, func(t *testing.T) {
			name := "e2e-dapi-health-" + c.name
			cleanup(t, name)
			c.must(t, "run", "-d", "--name", name, "--health-cmd", "echo probed", "--health-interval", "1s", "--health-retries", "2", busybox, "sleep", "300")
			if got := c.must(t, "inspect", "-f", "{{json .Config.Healthcheck}}", name); !strings.Contains(got, `"CMD-SHELL","echo probed"`) || !strings.Contains(got, `"Interval":1000000000`) {
				t.Errorf("Config.Healthcheck: %s", got)
			}
			eventually(t, 20*time.Second, "a healthy container", func() bool {
				return c.run(t, "", "inspect", "-f", "{{.State.Health.Status}}", name).stdout == "healthy\n"
			})
			got := c.must(t, "inspect", "-f", "{{.State.Health.FailingStreak}} {{(index .State.Health.Log 0).ExitCode}} {{(index .State.Health.Log 0).Output}}", name)
			if got != "0 0 probed" {
				t.Errorf("State.Health: %q", got)
			}
			none := name + "-none"
			cleanup(t, none)
			c.must(t, "create", "--name", none, "--no-healthcheck", busybox, "true")
			if got := c.must(t, "inspect", "-f", "{{json .Config.Healthcheck.Test}}", none); got != `["NONE"]` {
				t.Errorf("--no-healthcheck: %s", got)
			}
		})
	}
}

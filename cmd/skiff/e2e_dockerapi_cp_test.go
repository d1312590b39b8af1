//go:build e2e

package main_test

import (
	"strings"
	"testing"
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

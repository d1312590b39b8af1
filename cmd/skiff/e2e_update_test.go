//go:build e2e

package main_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// cgroupLimits reads a running container's memory, pids and CPU quota
// limits from inside it (cgroup v1 or v2).
func cgroupLimits(t *testing.T, name string) string {
	t.Helper()
	return must(t, "exec", name, "sh", "-c",
		"cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; "+
			"cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; "+
			"cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max")
}

// TestUpdate changes a running container's limits and restart policy
// through skiff update and the Docker API, and sees them in its cgroup
// and inspect, and after a restart.
func TestUpdate(t *testing.T) {
	name := "e2e-update"
	cleanup(t, name)
	must(t, "run", "-d", "--name", name, "--memory", "64m", "--pids-limit", "100", busybox, "sleep", "300")
	if got := cgroupLimits(t, name); got != "67108864\n100\n-1" && got != "67108864\n100\nmax" {
		t.Fatalf("limits at run: %q", got)
	}

	if out := must(t, "update", "--memory", "128m", "--memory-swap", "256m", "--pids-limit", "50", "--cpus", "0.5", "--restart", "on-failure:2", name); out != name {
		t.Errorf("update printed %q, want the name", out)
	}
	if got := cgroupLimits(t, name); got != "134217728\n50\n50000" {
		t.Errorf("limits after update: %q", got)
	}
	want := "134217728 268435456 50 500000000 on-failure 2"
	inspect := func() string {
		return must(t, "inspect", "--format", "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.PidsLimit}} {{.HostConfig.NanoCpus}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}", name)
	}
	if got := inspect(); got != want {
		t.Errorf("inspect after update: %q, want %q", got, want)
	}
	must(t, "restart", "-t", "1", name)
	if got := cgroupLimits(t, name); got != "134217728\n50\n50000" {
		t.Errorf("limits after a restart: %q", got)
	}
	if r := skiff(t, "update", name); r.code != 125 || !strings.Contains(r.stderr, "flags") {
		t.Errorf("update without flags: %s", r)
	}
	if r := skiff(t, "update", "--memory", "lots", name); r.code != 125 || !strings.Contains(r.stderr, "--memory") {
		t.Errorf("update with a bad size: %s", r)
	}
	if r := skiff(t, "update", "--memory", "1m", "no-such-container-here"); r.code == 0 || !strings.Contains(r.stderr, "no-such-container-here") {
		t.Errorf("update of a missing container: %s", r)
	}

	startForDocker(t)
	code, body := dockerAPI(t, "POST", "/containers/"+name+"/update", strings.NewReader(`{"Memory":100663296,"PidsLimit":0,"RestartPolicy":{"Name":"always"}}`))
	if code != http.StatusOK || strings.TrimSpace(string(body)) != `{"Warnings":[]}` {
		t.Fatalf("POST update: %d %s", code, body)
	}
	eventually(t, 5*time.Second, "the API's limits", func() bool {
		got := cgroupLimits(t, name)
		return strings.HasPrefix(got, "100663296\n") && (strings.Contains(got, "\nmax\n") || strings.Contains(got, "\n-1\n") || strings.Contains(got, "\n9223372036854775807\n"))
	})
	if got := must(t, "inspect", "--format", "{{.HostConfig.RestartPolicy.Name}}", name); got != "always" {
		t.Errorf("restart policy after the API's update: %q", got)
	}
	if code, body := dockerAPI(t, "POST", "/containers/no-such-container-here/update", strings.NewReader(`{"Memory":100663296}`)); code != http.StatusNotFound {
		t.Errorf("POST update of a missing container: %d %s", code, body)
	}
}

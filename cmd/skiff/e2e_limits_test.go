//go:build e2e

package main_test

import (
	"strings"
	"testing"
)

func TestDefaultsMatchDocker(t *testing.T) {
	script := `grep CapEff /proc/self/status
echo keys=$(wc -c < /proc/keys) timer_list=$(wc -c < /proc/timer_list)
echo h > /proc/sysrq-trigger 2>/dev/null && echo sysrq=writable || echo sysrq=readonly
touch /proc/sys/kernel/hostname 2>/dev/null; echo x > /proc/sys/kernel/domainname 2>/dev/null && echo procsys=writable || echo procsys=readonly
ls /sys/firmware | wc -l
ls /sys/class/net
`
	r := skiff(t, "run", "--rm", busybox, "sh", "-c", script)
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	want := []string{
		"CapEff:\t00000000a80425fb",
		"keys=0 timer_list=0",
		"sysrq=readonly",
		"procsys=readonly",
		"0",
		// docker's default network: the bridge's eth0, and loopback.
		"eth0",
		"lo",
	}
	for i, w := range want {
		if i >= len(lines) || !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d: got %q, want %q\nall output: %s", i, at(lines, i), w, r.stdout)
		}
	}

	// --privileged gives every capability and no masks.
	r = skiff(t, "run", "--rm", "--privileged", busybox, "sh", "-c", "grep CapEff /proc/self/status; wc -c < /proc/timer_list")
	if !strings.Contains(r.stdout, "CapEff:\t000001ffffffffff") && !strings.Contains(r.stdout, "CapEff:\t000001fffeffffff") {
		t.Errorf("privileged CapEff: %s", r)
	}
	// --cap-drop and --cap-add change the set.
	r = skiff(t, "run", "--rm", "--cap-drop", "ALL", "--cap-add", "KILL", busybox, "grep", "CapEff", "/proc/self/status")
	if strings.TrimSpace(r.stdout) != "CapEff:\t0000000000000020" {
		t.Errorf("--cap-drop ALL --cap-add KILL: %s", r)
	}
	// --read-only makes the root read-only.
	r = skiff(t, "run", "--rm", "--read-only", busybox, "sh", "-c", "touch /x 2>&1; echo rc=$?")
	if !strings.Contains(r.stdout, "Read-only file system") {
		t.Errorf("--read-only: %s", r)
	}
}

func at(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "<none>"
}

func TestMemoryLimitOOMKills(t *testing.T) {
	name := "e2e-oom"
	cleanup(t, name)
	// The shell builds a 64 MiB string under a 16 MiB limit.
	r := skiff(t, "run", "--name", name, "--memory", "16m", busybox, "sh", "-c", `x=$(head -c 67108864 /dev/zero | tr '\0' a); echo survived ${#x}`)
	if r.code != 137 || strings.Contains(r.stdout, "survived") {
		t.Fatalf("want the container OOM-killed (137): %s", r)
	}
	if oom := must(t, "inspect", "--format", "{{.State.OOMKilled}}", name); oom != "true" {
		t.Fatalf("OOMKilled %s, want true", oom)
	}
}

func TestPidsLimitStopsForkBomb(t *testing.T) {
	// A bounded fork bomb: 200 sleepers under a limit of 20 processes.
	// The shell's fork fails once the limit is reached, which ends it.
	r := skiff(t, "run", "--rm", "--pids-limit", "20", busybox, "sh", "-c",
		`for i in $(seq 1 200); do sleep 30 & done; echo all started`)
	if r.code == 0 || strings.Contains(r.stdout, "all started") || !strings.Contains(r.stderr, "can't fork") {
		t.Fatalf("want the forks refused under --pids-limit 20: %s", r)
	}
	// Without the limit the same loop runs to the end.
	r = skiff(t, "run", "--rm", busybox, "sh", "-c", `for i in $(seq 1 50); do sleep 30 & done; echo all started`)
	if r.code != 0 || !strings.Contains(r.stdout, "all started") {
		t.Fatalf("without a limit: %s", r)
	}
}

func TestCPUAndUlimit(t *testing.T) {
	r := skiff(t, "run", "--rm", "--cpus", "0.5", "--ulimit", "nofile=512:1024", busybox, "sh", "-c",
		"ulimit -n; ulimit -Hn; cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max")
	want := "512\n1024\n50000\n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("want %q: %s", want, r)
	}
}

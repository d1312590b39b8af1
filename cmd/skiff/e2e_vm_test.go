//go:build e2e

package main_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMachineQEMU boots the machine under QEMU (TCG here), runs real
// containers in it — where cgroups are v2 — and stops it, leaving nothing
// behind.
func TestMachineQEMU(t *testing.T) {
	qemu := "qemu-system-x86_64"
	if runtime.GOARCH == "arm64" {
		qemu = "qemu-system-aarch64"
	}
	if _, err := exec.LookPath(qemu); err != nil {
		t.Skipf("%s is not installed", qemu)
	}
	if _, err := os.Stat(filepath.Join(binDir, "vmimage", runtime.GOARCH, "manifest.json")); err != nil {
		t.Skip("no guest image next to skiff (make vmimage && make build)")
	}
	home := t.TempDir()
	vm := func(args ...string) result {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(binDir, "skiff"), args...)
		cmd.Env = append(os.Environ(), "SKIFF_HOME="+home, "SKIFF_DRIVER=qemu")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("skiff %v: %v", args, err)
		}
		return result{stdout: out.String(), stderr: errb.String(), code: code}
	}
	t.Cleanup(func() {
		vm("machine", "stop")
		if t.Failed() {
			if data, err := os.ReadFile(filepath.Join(home, "machines", "default", "console.log")); err == nil {
				t.Logf("console:\n%s", lastLines(string(data), 40))
			}
		}
	})

	start := time.Now()
	if r := vm("machine", "start", "--memory", "1g"); r.code != 0 {
		t.Fatalf("machine start: %s", r)
	}
	t.Logf("machine start took %v", time.Since(start).Round(time.Millisecond))

	r := vm("run", "--rm", busybox, "sh", "-c", "uname -r; cat /proc/1/cgroup; echo hi; exit 3")
	if r.code != 3 || !strings.Contains(r.stdout, "hi\n") {
		t.Fatalf("run in the machine: %s", r)
	}
	if host, _ := exec.Command("uname", "-r").Output(); strings.Contains(r.stdout, strings.TrimSpace(string(host))) {
		t.Fatalf("the container ran on the host's kernel, not the machine's: %s", r)
	}
	if !strings.Contains(r.stdout, "0::/") {
		t.Errorf("the machine's containers should be on cgroup v2: %s", r)
	}
	// A private cgroup namespace: the container's own cgroup is its root.
	if r := vm("run", "--rm", busybox, "ls", "/sys/fs/cgroup"); strings.Contains(r.stdout, "skiff") || strings.Contains(r.stdout, "cgroup.max.depth\nmisc.capacity") {
		t.Errorf("the container sees the machine's cgroup tree: %s", r)
	}
	// Limits and defaults hold on cgroup v2 too.
	r = vm("run", "--rm", "--memory", "16m", busybox, "sh", "-c", `x=$(head -c 67108864 /dev/zero | tr '\0' a); echo survived`)
	if r.code != 137 {
		t.Errorf("--memory 16m in the machine: want 137: %s", r)
	}
	r = vm("run", "--rm", "--pids-limit", "20", busybox, "sh", "-c", `for i in $(seq 1 200); do sleep 30 & done; echo all started`)
	if r.code == 0 || !strings.Contains(r.stderr, "can't fork") {
		t.Errorf("--pids-limit 20 in the machine: %s", r)
	}
	r = vm("run", "--rm", busybox, "grep", "CapEff", "/proc/self/status")
	if strings.TrimSpace(r.stdout) != "CapEff:\t00000000a80425fb" {
		t.Errorf("CapEff in the machine: %s", r)
	}
	if r := vm("run", "--rm", "--cpus", "0.5", busybox, "cat", "/sys/fs/cgroup/cpu.max"); strings.TrimSpace(r.stdout) != "50000 100000" {
		t.Errorf("--cpus 0.5 in the machine: %s", r)
	}

	stop := time.Now()
	if r := vm("machine", "stop"); r.code != 0 {
		t.Fatalf("machine stop: %s", r)
	}
	t.Logf("machine stop took %v", time.Since(stop).Round(time.Millisecond))
	if r := vm("machine", "status"); !strings.Contains(r.stdout, "stopped") {
		t.Errorf("status after stop: %s", r)
	}
	// No QEMU or virtiofsd of this machine is left.
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		data, _ := os.ReadFile(p)
		if bytes.Contains(data, []byte(home)) {
			t.Errorf("process left after machine stop: %s: %s", filepath.Dir(p), bytes.ReplaceAll(data, []byte{0}, []byte{' '}))
		}
	}
	if _, err := os.Stat(filepath.Join(home, "machines", "default", "skiff.sock")); err == nil {
		t.Error("the machine's socket is left after stop")
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

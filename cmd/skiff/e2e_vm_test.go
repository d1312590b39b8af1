//go:build e2e

package main_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMachineQEMU boots the machine under QEMU (TCG here) three times:
// runs real containers in it (where cgroups are v2), shows that images and
// containers survive a stop and start on the data disk, that a killed
// QEMU is reported and recovered from, and that rm -f leaves nothing.
func TestMachineQEMU(t *testing.T) {
	qemu := "qemu-system-x86_64"
	if runtime.GOARCH == "arm64" {
		qemu = "qemu-system-aarch64"
	}
	if _, err := exec.LookPath(qemu); err != nil {
		unmet(t, "%s is not installed", qemu)
	}
	if _, err := os.Stat(filepath.Join(binDir, "vmimage", runtime.GOARCH, "manifest.json")); err != nil {
		unmet(t, "no guest image next to skiff (make vmimage && make build)")
	}
	home := t.TempDir()
	vmEnv := append(os.Environ(), "SKIFF_HOME="+home, "SKIFF_DRIVER=qemu")
	vm := func(args ...string) result {
		t.Helper()
		return runSkiff(t, vmEnv, 5*time.Minute, "", args...)
	}
	t.Cleanup(func() {
		vm("machine", "stop")
		if t.Failed() {
			if data, err := os.ReadFile(filepath.Join(home, "machines", "default", "console.log")); err == nil {
				t.Logf("console:\n%s", lastLines(string(data), 40))
			}
		}
	})

	// A shared folder outside the home and temp folders (shared always),
	// removed on the host later.
	shareDir, err := os.MkdirTemp("/var/tmp", "skiff-share-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(shareDir) })

	// Boot 1.
	start := time.Now()
	if r := vm("machine", "start", "--memory", "1g", "--share", shareDir); r.code != 0 || !regexp.MustCompile(`Machine "default" ready in \d+\.\ds`).MatchString(r.stderr) {
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

	// What must survive a restart, on the data disk: a stopped container
	// and a tag.
	if r := vm("create", "--name", "keep", busybox, "true"); r.code != 0 {
		t.Fatalf("create keep: %s", r)
	}
	if r := vm("tag", busybox, "keep/me:1"); r.code != 0 {
		t.Fatalf("tag: %s", r)
	}
	r = vm("machine", "status")
	for _, want := range []string{"State:        running", "Driver:       qemu", "Acceleration: ", "Memory:       1GiB", "Agent:        ", "Uptime:       "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status lacks %q: %s", want, r)
		}
	}
	if strings.Contains(r.stdout, "Agent:        -") || strings.Contains(r.stdout, "Acceleration: -") {
		t.Errorf("status of a running machine lacks the agent's version or the acceleration: %s", r)
	}
	r = vm("machine", "status", "--format", "{{.State}} {{.Accel}} {{.DiskSize}}")
	if f := strings.Fields(r.stdout); len(f) != 3 || f[0] != "running" || (f[1] != "tcg" && f[1] != "kvm") || f[2] != "68719476736" {
		t.Errorf("status --format: %s", r)
	}

	stop := time.Now()
	if r := vm("machine", "stop"); r.code != 0 {
		t.Fatalf("machine stop: %s", r)
	}
	t.Logf("machine stop took %v", time.Since(stop).Round(time.Millisecond))
	if r := vm("machine", "status"); !strings.Contains(r.stdout, "State:        stopped") {
		t.Errorf("status after stop: %s", r)
	}
	noProcessesOf(t, home)
	if _, err := os.Stat(filepath.Join(home, "machines", "default", "skiff.sock")); err == nil {
		t.Error("the machine's socket is left after stop")
	}

	// Boot 2: the image and the container are still there.
	if r := vm("machine", "start"); r.code != 0 || !strings.Contains(r.stderr, "ready in") {
		t.Fatalf("machine start again: %s", r)
	}
	if r := vm("images", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(r.stdout, "keep/me:1\n") {
		t.Errorf("the tag did not survive a restart: %s", r)
	}
	if r := vm("ps", "-a", "--format", "{{.Names}} {{.State}}"); !strings.Contains(r.stdout, "keep ") {
		t.Errorf("the container did not survive a restart: %s", r)
	}

	// QEMU dies (kill -9): status says so, and a start recovers.
	pid := qemuPID(t, home)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill qemu %d: %v", pid, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := vm("machine", "status", "--format", "{{.State}}")
		if st := strings.TrimSpace(r.stdout); st == "error" || st == "stopped" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status after QEMU was killed: %s", r)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Boot 3.
	start = time.Now()
	if r := vm("machine", "start"); r.code != 0 {
		t.Fatalf("machine start after QEMU was killed: %s", r)
	}
	t.Logf("recovering start took %v", time.Since(start).Round(time.Millisecond))
	if r := vm("run", "--rm", busybox, "echo", "back"); r.code != 0 || r.stdout != "back\n" {
		t.Errorf("run after recovery: %s", r)
	}
	// The shared folder vanishes while a container uses it: the container
	// gets errors, the machine keeps answering and status names the share.
	if r := vm("run", "-d", "--name", "onshare", "-v", shareDir+":/w", busybox, "sleep", "600"); r.code != 0 {
		t.Fatalf("run on the share: %s", r)
	}
	if err := os.RemoveAll(shareDir); err != nil {
		t.Fatal(err)
	}
	if r := vm("exec", "onshare", "touch", "/w/new"); r.code == 0 {
		t.Errorf("a write into the removed share succeeded: %s", r)
	}
	if r := vm("machine", "status"); r.code != 0 || !strings.Contains(r.stdout, "Warning: shared folder "+shareDir+" is gone from the host") {
		t.Errorf("status with a removed share: %s", r)
	}
	if r := vm("rm", "-f", "onshare"); r.code != 0 {
		t.Errorf("rm of the container on the removed share: %s", r)
	}
	if r := vm("machine", "ls"); !regexp.MustCompile(`(?m)^default\s+qemu\s+running\s+\d+\s+1GiB\s+\S+ / 64GiB$`).MatchString(r.stdout) {
		t.Errorf("machine ls: %s", r)
	}
	if r := vm("machine", "logs", "-n", "200"); r.code != 0 || !strings.Contains(r.stdout, "skiff-agent: ready") {
		t.Errorf("machine logs: %s", r)
	}
	if r := vm("machine", "logs", "--daemon"); r.code != 0 || !strings.Contains(r.stdout, "agent connected") {
		t.Errorf("machine logs --daemon: %s", r)
	}

	// rm -f stops it and leaves nothing.
	if r := vm("machine", "rm", "-f"); r.code != 0 {
		t.Fatalf("machine rm -f: %s", r)
	}
	noProcessesOf(t, home)
	if _, err := os.Stat(filepath.Join(home, "machines", "default")); err == nil {
		t.Error("the machine's directory is left after rm -f")
	}
	if r := vm("machine", "status"); r.code != 125 || !strings.Contains(r.stderr, `machine "default" does not exist`) {
		t.Errorf("status after rm: %s", r)
	}
}

// TestMachineBadInput checks the errors of a machine that cannot start,
// booting nothing.
func TestMachineBadInput(t *testing.T) {
	img := filepath.Join(binDir, "vmimage", runtime.GOARCH)
	if _, err := os.Stat(filepath.Join(img, "manifest.json")); err != nil {
		unmet(t, "no guest image next to skiff (make vmimage && make build)")
	}
	home := t.TempDir()
	skiff := func(extra []string, args ...string) result {
		t.Helper()
		cmd := exec.Command(filepath.Join(binDir, "skiff"), args...)
		cmd.Env = append(append(os.Environ(), "SKIFF_HOME="+home, "SKIFF_DRIVER=qemu"), extra...)
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

	// A copy of the guest image whose initramfs has one byte changed.
	bad := t.TempDir()
	for _, f := range []string{"manifest.json", "vmlinux", "Image", "initramfs.cpio"} {
		data, err := os.ReadFile(filepath.Join(img, f))
		if err != nil {
			continue
		}
		if f == "initramfs.cpio" {
			data[len(data)/2] ^= 0xff
		}
		if err := os.WriteFile(filepath.Join(bad, f), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := skiff([]string{"SKIFF_VMIMAGE=" + bad}, "machine", "start", "--machine", "altered")
	if r.code != 125 || !strings.Contains(r.stderr, "initramfs.cpio has sha256") || !strings.Contains(r.stderr, "make vmimage") {
		t.Errorf("start with an altered guest image: %s", r)
	}
	noProcessesOf(t, home)

	r = skiff(nil, "machine", "status", "--machine", "nosuch")
	if r.code != 125 || r.stderr != "skiff: machine \"nosuch\" does not exist; create it with: skiff machine start --machine nosuch (skiff machine ls lists machines)\n" {
		t.Errorf("status of an unknown machine: %s", r)
	}
	r = skiff(nil, "machine", "start", "--machine", "nosuch", "--cpus", "0")
	if r.code != 125 || !strings.Contains(r.stderr, `invalid argument "0" for "--cpus"`) {
		t.Errorf("start --cpus 0: %s", r)
	}
}

// noProcessesOf fails when a process (QEMU, virtiofsd, the daemon) of a
// machine under home is left.
func noProcessesOf(t *testing.T, home string) {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		data, _ := os.ReadFile(p)
		if bytes.Contains(data, []byte(home)) {
			t.Errorf("process left: %s: %s", filepath.Dir(p), bytes.ReplaceAll(data, []byte{0}, []byte{' '}))
		}
	}
}

// qemuPID finds the QEMU process of the default machine under home.
func qemuPID(t *testing.T, home string) int {
	t.Helper()
	dir := filepath.Join(home, "machines", "default")
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		data, _ := os.ReadFile(p)
		args := bytes.Split(data, []byte{0})
		if len(args) > 0 && bytes.Contains(args[0], []byte("qemu-system-")) && bytes.Contains(data, []byte(dir+"/")) {
			pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			if err == nil {
				return pid
			}
		}
	}
	t.Fatal("no QEMU process of the machine")
	return 0
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

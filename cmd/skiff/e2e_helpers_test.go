//go:build e2e

package main_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiffrun/skiff/internal/e2eneed"
)

// The end-to-end tests run the built skiff and skiff-agent (make e2e sets
// SKIFF_BIN to their folder) with the native driver, against real
// containers. They need root, overlayfs and cgroups.

var (
	binDir    string
	skiffHome string
)

func TestMain(m *testing.M) {
	// A run that cannot test must not pass: only SKIFF_E2E_SKIP, set on
	// purpose, makes one that lacks what the tests need succeed.
	binDir = os.Getenv("SKIFF_BIN")
	if missing := e2eMissing(); missing != "" {
		if reason := os.Getenv("SKIFF_E2E_SKIP"); reason != "" {
			fmt.Printf("skipping the end-to-end tests (%s): SKIFF_E2E_SKIP=%s\n", missing, reason)
			os.Exit(0)
		}
		fmt.Println(missing + " (or set SKIFF_E2E_SKIP=<reason> to skip them)")
		os.Exit(1)
	}
	home, err := os.MkdirTemp("", "skiff-e2e-")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	skiffHome = home
	code := m.Run()
	// Stop the agent, if a test started it, then show that no container
	// left anything behind.
	if _, err := os.Stat(filepath.Join(home, "machines", "default")); err == nil {
		stop := exec.Command(filepath.Join(binDir, "skiff"), "machine", "stop")
		stop.Env = env()
		out, err := stop.CombinedOutput()
		if err != nil {
			fmt.Printf("machine stop: %v: %s\n", err, out)
			code = 1
		}
	}
	if leftovers := leftoversOf(home); len(leftovers) > 0 {
		fmt.Printf("left behind after the agent stopped:\n  %s\n", strings.Join(leftovers, "\n  "))
		code = 1
	}
	if code == 0 {
		os.RemoveAll(home)
	} else {
		fmt.Println("agent log:", filepath.Join(home, "machines", "default", "agent.log"))
	}
	os.Exit(code)
}

// e2eMissing says what the end-to-end tests need and do not have; "" when
// nothing is missing.
func e2eMissing() string {
	if binDir == "" {
		return "SKIFF_BIN is not set: run the end-to-end tests with make e2e"
	}
	if os.Geteuid() != 0 {
		return "the end-to-end tests run containers and need root"
	}
	return ""
}

// driver is the machine driver the container tests run on: native by
// default; SKIFF_E2E_DRIVER=qemu runs the same tests through the machine.
func driver() string {
	if d := os.Getenv("SKIFF_E2E_DRIVER"); d != "" {
		return d
	}
	return "native"
}

func env() []string {
	return append(os.Environ(), "SKIFF_HOME="+skiffHome, "SKIFF_DRIVER="+driver())
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %q\nstderr: %q", r.code, r.stdout, r.stderr)
}

// skiffIn runs the CLI with stdin and returns what it printed and its
// exit code.
func skiffIn(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return runSkiff(t, env(), 2*time.Minute, stdin, args...)
}

// runSkiff runs the CLI in environ, failing the test only when it cannot
// run at all.
func runSkiff(t *testing.T, environ []string, timeout time.Duration, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "skiff"), args...)
	cmd.Env = environ
	cmd.Stdin = strings.NewReader(stdin)
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

func skiff(t *testing.T, args ...string) result {
	t.Helper()
	return skiffIn(t, "", args...)
}

// must runs skiff and fails the test unless it exits 0.
func must(t *testing.T, args ...string) string {
	t.Helper()
	r := skiff(t, args...)
	if r.code != 0 {
		t.Fatalf("skiff %s: %s", strings.Join(args, " "), r)
	}
	return strings.TrimSpace(r.stdout)
}

// rm removes containers at the end of a test and checks nothing of them
// stays on the machine.
func cleanup(t *testing.T, names ...string) {
	t.Helper()
	t.Cleanup(func() {
		for _, n := range names {
			id := strings.TrimSpace(skiff(t, "inspect", "--format", "{{.Id}}", n).stdout)
			skiff(t, "rm", "-f", n)
			if id != "" {
				assertGone(t, id)
			}
		}
	})
}

// assertGone checks that no mount, cgroup or process of container id is
// left on the machine.
func assertGone(t *testing.T, id string) {
	t.Helper()
	if len(id) < 12 {
		t.Fatalf("bad container id %q", id)
	}
	// A killed process may stay a zombie for a moment until its parent
	// reaps it: look again for a few seconds before calling it left.
	var left []string
	deadline := time.Now().Add(5 * time.Second)
	for {
		left = leftoversOfContainer(id)
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(left) > 0 {
		t.Errorf("container %s left behind:\n%s", id[:12], strings.Join(left, "\n"))
	}
}

func leftoversOfContainer(id string) []string {
	var left []string
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(mounts), "\n") {
		if strings.Contains(line, id) {
			left = append(left, "mount: "+line)
		}
	}
	cgs, _ := filepath.Glob("/sys/fs/cgroup/*/skiff/" + id)
	cgs2, _ := filepath.Glob("/sys/fs/cgroup/skiff/" + id)
	for _, cg := range append(cgs, cgs2...) {
		left = append(left, "cgroup: "+cg)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cgroup")
	for _, p := range procs {
		data, _ := os.ReadFile(p)
		if bytes.Contains(data, []byte(id)) {
			left = append(left, "process: "+filepath.Dir(p))
		}
	}
	if _, err := os.Stat(filepath.Join(skiffHome, "machines", "default", "agent", "containers", id)); err == nil {
		left = append(left, "container directory")
	}
	return left
}

// leftoversOf lists mounts under home and container cgroups still there.
func leftoversOf(home string) []string {
	var left []string
	f, err := os.Open("/proc/self/mountinfo")
	if err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			if strings.Contains(s.Text(), home) {
				left = append(left, "mount: "+s.Text())
			}
		}
		f.Close()
	}
	cgs, _ := filepath.Glob("/sys/fs/cgroup/*/skiff/*")
	for _, cg := range cgs {
		if st, err := os.Stat(cg); err == nil && st.IsDir() {
			left = append(left, "cgroup: "+cg)
		}
	}
	return left
}

// eventually retries f until it succeeds or the deadline passes.
func eventually(t *testing.T, d time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if f() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", d, what)
}

const busybox = "localhost/busybox:latest"

// unmet fails t for a missing prerequisite (see e2eneed).
var unmet = e2eneed.Unmet

//go:build e2e

package main_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// composeDirect runs the shipped compose binary itself, not through
// skiff, against a socket nothing serves: what compose says of a file it
// cannot load, with no engine to talk to.
func composeDirect(t *testing.T, dir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "docker-compose"), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+filepath.Join(t.TempDir(), "none.sock"))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("docker-compose %v: %v", args, err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// TestComposeBadInput: an invalid compose file (broken YAML, a field the
// schema does not know) gets compose's own message and exit code and
// creates nothing; a missing flag value is skiff's usage error.
func TestComposeBadInput(t *testing.T) {
	project := "e2e-compose-bad"
	for _, tc := range []struct{ name, yaml, want string }{
		{"yaml", "name: " + project + "\nservices:\n  web:\n    image: [\n", "yaml"},
		{"schema", fmt.Sprintf("name: %s\nservices:\n  web:\n    image: %s\n    bogus: 1\n", project, busybox), "services.web.bogus"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := composeProject(t, tc.yaml)
			r := composeIn(t, dir, time.Minute, "up", "-d")
			own := composeDirect(t, dir, "up", "-d")
			if r.code == 0 || r.code != own.code || r.stderr != own.stderr || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("up with a bad compose.yaml: %s\ncompose on its own: %s", r, own)
			}
			assertProjectGone(t, project)
		})
	}
	r := composeIn(t, t.TempDir(), time.Minute, "--machine")
	if r.code != 125 || !strings.Contains(r.stderr, "--machine") {
		t.Errorf("compose --machine with no value: %s; want exit 125", r)
	}
}

// TestComposeUnhealthyWait: up --wait fails, naming the service, when its
// health check never passes.
func TestComposeUnhealthyWait(t *testing.T) {
	project := "e2e-compose-sick"
	dir := composeProject(t, fmt.Sprintf(`name: %s
services:
  fine:
    image: %[2]s
    command: ["sleep", "600"]
  sick:
    image: %[2]s
    command: ["sleep", "600"]
    healthcheck:
      test: ["CMD", "false"]
      interval: 1s
      timeout: 2s
      retries: 2
`, project, busybox))
	composeDown(t, dir, project)
	start := time.Now()
	r := composeIn(t, dir, 2*time.Minute, "up", "-d", "--wait")
	if r.code == 0 || !strings.Contains(r.stdout+r.stderr, project+"-sick-1 is unhealthy") {
		t.Errorf("up --wait of a failing health check: %s; want an error naming %s-sick-1", r, project)
	}
	t.Logf("up --wait failed after %v", time.Since(start).Round(time.Millisecond))
	if got := must(t, "inspect", "--format", "{{.State.Health.Status}}", project+"-sick-1"); got != "unhealthy" {
		t.Errorf("the sick service is %q", got)
	}
}

// TestComposeUnsharedBind: a bind of a folder the machine does not share
// fails as skiff run -v does, naming the fix, and leaves no container.
// Every folder is reachable under the native driver, so this runs only
// through a machine.
func TestComposeUnsharedBind(t *testing.T) {
	if driver() == "native" {
		t.Log("the native driver shares every folder")
		return
	}
	outside, err := os.MkdirTemp("/var/tmp", "skiff-e2e-compose-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(outside) })
	project := "e2e-compose-unshared"
	dir := composeProject(t, fmt.Sprintf("name: %s\nservices:\n  app:\n    image: %s\n    command: [\"true\"]\n    volumes:\n      - %s:/d\n",
		project, busybox, outside))
	composeDown(t, dir, project)
	want := outside + ` is not shared with machine "default"; add it with skiff machine set --share ` + outside
	run := skiff(t, "run", "--rm", "-v", outside+":/d", busybox, "true")
	if !strings.Contains(run.stderr, want) {
		t.Fatalf("skiff run -v of an unshared folder: %s\nwant %q", run, want)
	}
	r := composeIn(t, dir, 2*time.Minute, "up", "-d")
	if r.code == 0 || !strings.Contains(r.stderr, want) {
		t.Errorf("up with an unshared bind: %s\nwant an error with %q", r, want)
	}
	if out := must(t, "ps", "-a", "-q", "--filter", "label=com.docker.compose.project="+project); out != "" {
		t.Errorf("the failed up left containers %s", out)
	}
}

//go:build e2e

package main_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The compose tests run skiff compose (docker compose, shipped beside
// skiff as bin/docker-compose) on projects written for them, with only
// the bundled busybox image.

// composeProject writes compose.yaml into a fresh folder and returns it.
func composeProject(t *testing.T, yaml string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// composeIn runs skiff compose in the project folder dir.
func composeIn(t *testing.T, dir string, timeout time.Duration, args ...string) result {
	t.Helper()
	if _, err := os.Stat(filepath.Join(binDir, "docker-compose")); err != nil {
		t.Fatalf("docker-compose is not beside skiff (%v): build it with make build", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "skiff"), append([]string{"compose"}, args...)...)
	cmd.Dir = dir
	cmd.Env = env()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("skiff compose %v: %v", args, err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// mustCompose runs skiff compose and fails the test unless it exits 0.
func mustCompose(t *testing.T, dir string, args ...string) string {
	t.Helper()
	r := composeIn(t, dir, 3*time.Minute, args...)
	if r.code != 0 {
		t.Fatalf("skiff compose %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// composeDown takes the project down, volumes too, when the test ends,
// and checks nothing of it is left on the machine.
func composeDown(t *testing.T, dir, project string) {
	t.Helper()
	t.Cleanup(func() {
		composeIn(t, dir, 2*time.Minute, "down", "-v", "--remove-orphans", "-t", "1")
		assertProjectGone(t, project)
	})
}

// assertProjectGone checks that no container, network or volume of
// project is left.
func assertProjectGone(t *testing.T, project string) {
	t.Helper()
	label := "label=com.docker.compose.project=" + project
	if out := must(t, "ps", "-a", "-q", "--filter", label); out != "" {
		t.Errorf("containers of project %s left: %s", project, out)
	}
	if out := must(t, "network", "ls", "-q", "--filter", label); out != "" {
		t.Errorf("networks of project %s left: %s", project, out)
	}
	if out := must(t, "volume", "ls", "-q", "--filter", label); out != "" {
		t.Errorf("volumes of project %s left: %s", project, out)
	}
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// webProject is a web service (busybox httpd, published on the host's
// loopback) and a client beside it, on a network of their own, sharing a
// named volume.
func webProject(t *testing.T, project string, port int) string {
	t.Helper()
	return composeProject(t, fmt.Sprintf(`name: %s
services:
  web:
    image: %s
    command: ["sh", "-c", "mkdir -p /www && echo hello from compose > /www/index.html && echo web up && exec busybox httpd -f -p 8080 -h /www"]
    ports:
      - "127.0.0.1:%d:8080"
    networks: [back]
    volumes:
      - data:/data
  client:
    image: %s
    command: ["sh", "-c", "echo client up; exec sleep 600"]
    depends_on: [web]
    networks: [back]
    volumes:
      - data:/data
networks:
  back: {}
volumes:
  data: {}
`, project, busybox, port, busybox))
}

// psEntry is what compose ps --format json says of a container.
type psEntry struct {
	Service  string
	State    string
	Name     string
	Project  string
	Health   string
	ExitCode int
}

func composePs(t *testing.T, dir string) map[string]psEntry {
	t.Helper()
	out := mustCompose(t, dir, "ps", "--all", "--format", "json")
	got := map[string]psEntry{}
	s := bufio.NewScanner(strings.NewReader(out))
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" {
			continue
		}
		// One object per line; older composes printed one array.
		var many []psEntry
		if strings.HasPrefix(line, "[") {
			if err := json.Unmarshal([]byte(line), &many); err != nil {
				t.Fatalf("ps --format json: %v: %s", err, out)
			}
		} else {
			var e psEntry
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("ps --format json: %v: %s", err, out)
			}
			many = append(many, e)
		}
		for _, e := range many {
			got[e.Service] = e
		}
	}
	return got
}

func TestComposeUpPsLogsExecDown(t *testing.T) {
	project := "e2e-compose-web"
	port := freeTCPPort(t)
	dir := webProject(t, project, port)
	composeDown(t, dir, project)

	mustCompose(t, dir, "up", "-d", "--wait")

	ps := composePs(t, dir)
	for _, svc := range []string{"web", "client"} {
		if e, ok := ps[svc]; !ok || e.State != "running" || e.Project != project {
			t.Errorf("ps: service %s is %+v, want running in project %s (all: %+v)", svc, e, project, ps)
		}
	}

	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatalf("the published port: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.TrimSpace(string(body)) != "hello from compose" {
		t.Errorf("the published port served %q", body)
	}

	eventually(t, 10*time.Second, "the services' logs", func() bool {
		out := composeIn(t, dir, time.Minute, "logs", "--no-color").stdout
		return strings.Contains(out, "web up") && strings.Contains(out, "client up")
	})
	if out := mustCompose(t, dir, "logs", "--no-color", "--no-log-prefix", "client"); strings.TrimSpace(out) != "client up" {
		t.Errorf("logs client: %q", out)
	}

	// The service's name resolves on the project's network.
	if out := mustCompose(t, dir, "exec", "-T", "client", "wget", "-q", "-O", "-", "http://web:8080/"); strings.TrimSpace(out) != "hello from compose" {
		t.Errorf("wget http://web:8080/ from client: %q", out)
	}
	// The services share the named volume.
	mustCompose(t, dir, "exec", "-T", "web", "sh", "-c", "echo shared > /data/note")
	if out := mustCompose(t, dir, "exec", "-T", "client", "cat", "/data/note"); strings.TrimSpace(out) != "shared" {
		t.Errorf("the volume as client sees it: %q", out)
	}
	// exec keeps the command's exit code.
	if r := composeIn(t, dir, time.Minute, "exec", "-T", "client", "sh", "-c", "exit 3"); r.code != 3 {
		t.Errorf("exec exit 3: %s", r)
	}

	mustCompose(t, dir, "down", "-v", "-t", "1")
	assertProjectGone(t, project)
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
		c.Close()
		t.Errorf("port %d still listens after down", port)
	}
}

func TestComposeVolumeSurvivesDown(t *testing.T) {
	project := "e2e-compose-vol"
	dir := webProject(t, project, freeTCPPort(t))
	composeDown(t, dir, project)

	mustCompose(t, dir, "up", "-d", "--wait")
	mustCompose(t, dir, "exec", "-T", "web", "sh", "-c", "echo kept > /data/kept")
	mustCompose(t, dir, "down", "-t", "1")
	if out := must(t, "volume", "ls", "-q", "--filter", "label=com.docker.compose.project="+project); out != project+"_data" {
		t.Errorf("after down, the project's volumes are %q, want %s_data", out, project)
	}
	mustCompose(t, dir, "up", "-d", "--wait")
	if out := mustCompose(t, dir, "exec", "-T", "client", "cat", "/data/kept"); strings.TrimSpace(out) != "kept" {
		t.Errorf("after down and up the volume holds %q", out)
	}
	mustCompose(t, dir, "down", "-v", "-t", "1")
	assertProjectGone(t, project)
}

func TestComposeRunRm(t *testing.T) {
	project := "e2e-compose-run"
	dir := composeProject(t, fmt.Sprintf("name: %s\nservices:\n  job:\n    image: %s\n    command: [\"true\"]\n", project, busybox))
	composeDown(t, dir, project)
	r := composeIn(t, dir, 2*time.Minute, "run", "--rm", "-T", "job", "sh", "-c", "echo ran; exit 4")
	if r.code != 4 || strings.TrimSpace(r.stdout) != "ran" {
		t.Errorf("run --rm: %s; want exit 4 printing ran", r)
	}
	if out := must(t, "ps", "-a", "-q", "--filter", "label=com.docker.compose.project="+project); out != "" {
		t.Errorf("run --rm left containers %s", out)
	}
}

func TestComposeHealthyWait(t *testing.T) {
	project := "e2e-compose-health"
	dir := composeProject(t, fmt.Sprintf(`name: %s
services:
  db:
    image: %s
    command: ["sh", "-c", "sleep 2; touch /tmp/ready; exec sleep 600"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      timeout: 2s
      retries: 30
  web:
    image: %s
    command: ["sleep", "600"]
    depends_on:
      db:
        condition: service_healthy
`, project, busybox, busybox))
	composeDown(t, dir, project)
	mustCompose(t, dir, "up", "-d", "--wait")
	out := must(t, "inspect", "--format", "{{.State.Health.Status}}", project+"-db-1")
	if out != "healthy" {
		t.Errorf("after up --wait the db is %q, want healthy", out)
	}
	// service_healthy: web started only once db had been ready, two
	// seconds into its run.
	startedAt := func(name string) time.Time {
		t.Helper()
		at, err := time.Parse(time.RFC3339Nano, must(t, "inspect", "--format", "{{.State.StartedAt}}", name))
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	if d := startedAt(project + "-web-1").Sub(startedAt(project + "-db-1")); d < 2*time.Second {
		t.Errorf("web started %v after db, before db was healthy", d)
	}
}

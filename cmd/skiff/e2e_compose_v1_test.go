//go:build e2e

package main_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Debian's docker-compose 1.29 (Python, docker-py) is a second compose,
// written apart from docker compose v2+, that users still point at a
// docker socket. scripts/install-deps installs it.

// composeV1 runs docker-compose 1.x in dir against the machine's socket.
func composeV1(t *testing.T, dir string, args ...string) result {
	t.Helper()
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		unmet(t, "docker-compose 1.x is not installed (scripts/install-deps)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	// run and exec hand the terminal to the docker CLI on $PATH, as
	// docker-compose 1.x does by default: the one make clients builds.
	clients := filepath.Join(filepath.Dir(binDir), "build", "clients")
	cmd.Env = append(env(), "DOCKER_HOST=unix://"+dockerSocket(), "DOCKER_CONFIG="+t.TempDir(),
		"PATH="+clients+string(os.PathListSeparator)+os.Getenv("PATH"))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("docker-compose %v: %v", args, err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

func mustComposeV1(t *testing.T, dir string, args ...string) string {
	t.Helper()
	r := composeV1(t, dir, args...)
	if r.code != 0 {
		t.Fatalf("docker-compose %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// TestComposeV1Core: the core project (web published on the host, a
// client beside it, a shared named volume) with docker-compose 1.29: up
// -d, ps, logs, exec, run --rm, down -v, and nothing left behind.
func TestComposeV1Core(t *testing.T) {
	if _, err := exec.LookPath("docker-compose"); err != nil {
		unmet(t, "docker-compose 1.x is not installed (scripts/install-deps)")
	}
	startForDocker(t)
	project := "e2ecomposev1"
	port := freeTCPPort(t)
	dir := t.TempDir()
	yaml := fmt.Sprintf(`version: "3.8"
services:
  web:
    image: %s
    command: ["sh", "-c", "mkdir -p /www && echo hello from v1 > /www/index.html && echo web up && exec busybox httpd -f -p 8080 -h /www"]
    ports:
      - "127.0.0.1:%d:8080"
    volumes:
      - data:/data
  client:
    image: %s
    command: ["sh", "-c", "echo client up; exec sleep 600"]
    depends_on: [web]
    volumes:
      - data:/data
volumes:
  data: {}
`, busybox, port, busybox)
	if err := os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		composeV1(t, dir, "-p", project, "down", "-v", "-t", "1")
		assertProjectGone(t, project)
	})

	mustComposeV1(t, dir, "-p", project, "up", "-d")
	ps := mustComposeV1(t, dir, "-p", project, "ps")
	for _, name := range []string{project + "_web_1", project + "_client_1"} {
		if !strings.Contains(ps, name) {
			t.Errorf("ps lists no %s:\n%s", name, ps)
		}
	}
	if !strings.Contains(ps, fmt.Sprintf("127.0.0.1:%d->8080/tcp", port)) {
		t.Errorf("ps shows no published port:\n%s", ps)
	}
	if got := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); got != "hello from v1" {
		t.Errorf("the published port served %q", got)
	}
	eventually(t, 20*time.Second, "the services' logs", func() bool {
		out := composeV1(t, dir, "-p", project, "logs", "--no-color").stdout
		return strings.Contains(out, "web_1     | web up") && strings.Contains(out, "client_1  | client up")
	})
	if out := mustComposeV1(t, dir, "-p", project, "exec", "-T", "client", "wget", "-q", "-O", "-", "http://web:8080/"); strings.TrimSpace(out) != "hello from v1" {
		t.Errorf("exec wget http://web:8080/: %q", out)
	}
	mustComposeV1(t, dir, "-p", project, "exec", "-T", "web", "sh", "-c", "echo shared > /data/note")
	if out := mustComposeV1(t, dir, "-p", project, "exec", "-T", "client", "cat", "/data/note"); strings.TrimSpace(out) != "shared" {
		t.Errorf("the volume as client sees it: %q", out)
	}
	if r := composeV1(t, dir, "-p", project, "exec", "-T", "client", "sh", "-c", "exit 3"); r.code != 3 {
		t.Errorf("exec exit 3: %s", r)
	}
	if r := composeV1(t, dir, "-p", project, "run", "--rm", "-T", "client", "sh", "-c", "echo ran; exit 4"); r.code != 4 || strings.TrimSpace(r.stdout) != "ran" {
		t.Errorf("run --rm: %s; want exit 4 printing ran", r)
	}

	mustComposeV1(t, dir, "-p", project, "down", "-v", "-t", "1")
	assertProjectGone(t, project)
	assertNotListening(t, port)
}

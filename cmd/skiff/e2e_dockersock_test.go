//go:build e2e

package main_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// staticDockerCLI returns a statically linked docker CLI, which runs in a
// busybox container: the one make clients builds, else the host's.
func staticDockerCLI(t *testing.T) string {
	t.Helper()
	for _, p := range []string{filepath.Join(filepath.Dir(binDir), "build", "clients", "docker"), "/usr/local/bin/docker"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("no static docker client: build one with make clients")
	return ""
}

// A container that binds the machine's docker socket reaches the
// machine's Docker API with it: a docker CLI in it lists its sibling.
// Bound as the host's socket of the machine, and, in a VM, as docker's
// own /var/run/docker.sock, which is the machine's (natively it would be
// the host's).
func TestDockerSocketInContainer(t *testing.T) {
	startForDocker(t)
	// The client goes in through a shared folder (the temp folder is
	// one).
	dir := t.TempDir()
	cli, err := os.ReadFile(staticDockerCLI(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "docker"), cli, 0o755); err != nil {
		t.Fatal(err)
	}
	sibling := "dsock-sibling"
	cleanup(t, sibling)
	must(t, "run", "-d", "--name", sibling, busybox, "sleep", "300")

	_, err = os.Lstat("/var/run/docker.sock")
	hostHad := err == nil
	sources := map[string]string{"host socket": dockerSocket()}
	if driver() != "native" {
		sources["docker's path"] = "/var/run/docker.sock"
	}
	for name, src := range sources {
		t.Run(name, func(t *testing.T) {
			out := must(t, "run", "--rm", "-e", "DOCKER_CONFIG=/tmp/docker", "-v", src+":/var/run/docker.sock",
				"-v", dir+":/cli:ro", busybox, "sh", "-c", "exec /cli/docker ps --format '{{.Names}}'")
			if !slices.Contains(strings.Fields(out), sibling) {
				t.Fatalf("docker ps in a container lists %q, want its sibling %s", out, sibling)
			}
			// A hijacked stream, stdin's end included, passes through
			// the machine's socket: cat ends when its input does.
			out = must(t, "run", "--rm", "-e", "DOCKER_CONFIG=/tmp/docker", "-v", src+":/var/run/docker.sock",
				"-v", dir+":/cli:ro", busybox, "sh", "-c", "echo through | exec /cli/docker run --rm -i "+busybox+" cat")
			if out != "through" {
				t.Errorf("docker run -i in a container printed %q, want %q", out, "through")
			}
		})
	}
	if _, err := os.Lstat("/var/run/docker.sock"); err == nil && !hostHad {
		t.Errorf("binding the machine's /var/run/docker.sock made one on the host")
	}
}

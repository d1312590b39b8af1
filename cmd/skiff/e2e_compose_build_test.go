//go:build e2e

package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// writeFiles writes files (name → content) into dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// containerIDs are the ids of a service's containers, sorted.
func containerIDs(t *testing.T, project, service string) []string {
	t.Helper()
	out := must(t, "ps", "-q", "--no-trunc", "--filter", "label=com.docker.compose.project="+project,
		"--filter", "label=com.docker.compose.service="+service)
	ids := strings.Fields(out)
	sort.Strings(ids)
	return ids
}

const scaleDockerfile = `FROM localhost/busybox:latest
RUN mkdir /www && echo %s > /www/version
CMD ["sh", "-c", "hostname > /www/index.html && exec busybox httpd -f -p 8080 -h /www"]
`

// TestComposeBuildScale: up --build of a service built from the
// project's Dockerfile, scaled to three replicas that a client reaches by
// name; build after a change; --force-recreate; --remove-orphans; and
// down --rmi local removing the built image.
func TestComposeBuildScale(t *testing.T) {
	project := "e2e-compose-scale"
	yaml := fmt.Sprintf(`name: %s
services:
  web:
    build: .
  client:
    image: %s
    command: ["sleep", "600"]
  extra:
    image: %s
    command: ["sleep", "600"]
`, project, busybox, busybox)
	dir := composeProject(t, yaml)
	writeFiles(t, dir, map[string]string{"Dockerfile": fmt.Sprintf(scaleDockerfile, "v1")})
	composeDown(t, dir, project)
	image := project + "-web"
	t.Cleanup(func() { skiff(t, "rmi", "-f", image) })

	mustCompose(t, dir, "up", "-d", "--build", "--scale", "web=3", "--wait")
	replicas := containerIDs(t, project, "web")
	if len(replicas) != 3 {
		t.Fatalf("up --scale web=3 runs %d web containers: %v", len(replicas), replicas)
	}
	// Each replica answers with its own hostname, by its name on the
	// project network; the service's name reaches one of them.
	hostnames := map[string]bool{}
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("%s-web-%d", project, i)
		got := strings.TrimSpace(mustCompose(t, dir, "exec", "-T", "client", "wget", "-q", "-O", "-", "http://"+name+":8080/"))
		want := must(t, "inspect", "--format", "{{.Config.Hostname}}", name)
		if got != want {
			t.Errorf("http://%s:8080/ answered %q, want its hostname %q", name, got, want)
		}
		hostnames[got] = true
	}
	if len(hostnames) != 3 {
		t.Errorf("the replicas answered %v, want three hostnames", hostnames)
	}
	if got := strings.TrimSpace(mustCompose(t, dir, "exec", "-T", "client", "wget", "-q", "-O", "-", "http://web:8080/")); !hostnames[got] {
		t.Errorf("http://web:8080/ answered %q, not one of the replicas %v", got, hostnames)
	}
	// Every replica is listed under the service's name.
	hosts := mustCompose(t, dir, "exec", "-T", "client", "cat", "/etc/hosts")
	for i := 1; i <= 3; i++ {
		ip := must(t, "inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", fmt.Sprintf("%s-web-%d", project, i))
		if !hostsLineHas(hosts, ip, "web") {
			t.Errorf("the client's hosts file has no web at %s:\n%s", ip, hosts)
		}
	}
	if got := strings.TrimSpace(mustCompose(t, dir, "exec", "-T", "--index", "2", "web", "cat", "/www/version")); got != "v1" {
		t.Errorf("the built image holds version %q", got)
	}

	// build after a change of the Dockerfile, then up recreates.
	writeFiles(t, dir, map[string]string{"Dockerfile": fmt.Sprintf(scaleDockerfile, "v2")})
	mustCompose(t, dir, "build", "web")
	if out := mustCompose(t, dir, "run", "--rm", "-T", "web", "cat", "/www/version"); strings.TrimSpace(out) != "v2" {
		t.Errorf("after build the image holds %q", out)
	}
	mustCompose(t, dir, "up", "-d", "--scale", "web=3", "--wait")
	if got := strings.TrimSpace(mustCompose(t, dir, "exec", "-T", "--index", "3", "web", "cat", "/www/version")); got != "v2" {
		t.Errorf("after build and up the service runs version %q", got)
	}
	rebuilt := containerIDs(t, project, "web")

	// --force-recreate: new containers for an unchanged service.
	clientBefore := containerIDs(t, project, "client")
	mustCompose(t, dir, "up", "-d", "--scale", "web=3", "--force-recreate", "--wait")
	recreated := containerIDs(t, project, "web")
	if len(recreated) != 3 || overlap(recreated, rebuilt) || overlap(containerIDs(t, project, "client"), clientBefore) {
		t.Errorf("--force-recreate: web %v (was %v), client was %v", recreated, rebuilt, clientBefore)
	}

	// --remove-orphans: a service dropped from the file goes.
	dropped := strings.Replace(yaml, "  extra:\n    image: "+busybox+"\n    command: [\"sleep\", \"600\"]\n", "", 1)
	writeFiles(t, dir, map[string]string{"compose.yaml": dropped})
	r := composeIn(t, dir, 3*time.Minute, "up", "-d", "--scale", "web=3")
	if r.code != 0 || !strings.Contains(r.stderr, "orphan") || len(containerIDs(t, project, "extra")) != 1 {
		t.Errorf("up without the extra service: %s; want a warning of orphans, extra kept", r)
	}
	mustCompose(t, dir, "up", "-d", "--scale", "web=3", "--remove-orphans")
	if ids := containerIDs(t, project, "extra"); len(ids) != 0 {
		t.Errorf("--remove-orphans left %v", ids)
	}

	// down --rmi local: the built image (no image: of its own) goes, the
	// pulled one stays.
	mustCompose(t, dir, "down", "-t", "1", "--rmi", "local")
	assertProjectGone(t, project)
	if r := skiff(t, "image", "inspect", image); r.code == 0 {
		t.Errorf("down --rmi local kept %s", image)
	}
	must(t, "image", "inspect", busybox)
}

// hostsLineHas reports whether a hosts file maps ip to name.
func hostsLineHas(hosts, ip, name string) bool {
	for _, line := range strings.Split(hosts, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != ip {
			continue
		}
		for _, n := range f[1:] {
			if n == name {
				return true
			}
		}
	}
	return false
}

func overlap(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// TestComposeWatch: compose watch syncs a changed and a new file into the
// running service (the archive API) and rebuilds and recreates it when the
// Dockerfile changes.
func TestComposeWatch(t *testing.T) {
	project := "e2e-compose-watch"
	dir := composeProject(t, fmt.Sprintf(`name: %s
services:
  app:
    build: .
    command: ["sleep", "600"]
    develop:
      watch:
        - action: sync
          path: ./src
          target: /app
        - action: rebuild
          path: ./Dockerfile
`, project))
	writeFiles(t, dir, map[string]string{
		"src/page.txt": "one\n",
		"Dockerfile":   "FROM " + busybox + "\nCOPY src /app\nRUN echo first > /built\n",
	})
	composeDown(t, dir, project)
	t.Cleanup(func() { skiff(t, "rmi", "-f", project+"-app") })
	mustCompose(t, dir, "up", "-d", "--build", "--wait")
	first := containerIDs(t, project, "app")

	w := composeStart(t, dir, "watch", "--no-up")
	w.waitFor(t, time.Minute, "Watch enabled")
	writeFiles(t, dir, map[string]string{"src/page.txt": "two\n", "src/sub/new.txt": "new\n"})
	eventually(t, time.Minute, "the changed files in the service", func() bool {
		r := composeIn(t, dir, time.Minute, "exec", "-T", "app", "cat", "/app/page.txt", "/app/sub/new.txt")
		return r.code == 0 && r.stdout == "two\nnew\n"
	})
	if got := containerIDs(t, project, "app"); fmt.Sprint(got) != fmt.Sprint(first) {
		t.Errorf("a sync replaced the container: %v, was %v", got, first)
	}

	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM " + busybox + "\nCOPY src /app\nRUN echo second > /built\n"})
	eventually(t, 2*time.Minute, "the rebuilt service", func() bool {
		r := composeIn(t, dir, time.Minute, "exec", "-T", "app", "cat", "/built")
		return r.code == 0 && strings.TrimSpace(r.stdout) == "second"
	})
	if got := containerIDs(t, project, "app"); len(got) != 1 || overlap(got, first) {
		t.Errorf("after a rebuild the service runs %v, was %v", got, first)
	}
	w.stop(t)
	mustCompose(t, dir, "down", "-t", "1", "--rmi", "local")
	assertProjectGone(t, project)
}

// TestPushPullThroughCompose: compose build, push to a local registry,
// pull back after the image is removed, and up of the pulled image. (Not
// named TestCompose*: the registry listens on the host's loopback, which
// a machine does not reach as 127.0.0.1, so it stays with the native
// image tests.)
func TestPushPullThroughCompose(t *testing.T) {
	dockerConfig(t)
	reg := startRegistry(t, "", "")
	project := "e2e-compose-push"
	image := reg + "/e2e/compose-app:1"
	dir := composeProject(t, fmt.Sprintf(`name: %s
services:
  app:
    build: .
    image: %s
    command: ["sleep", "600"]
`, project, image))
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM " + busybox + "\nRUN echo pushed > /content\n"})
	composeDown(t, dir, project)
	t.Cleanup(func() { skiff(t, "rmi", "-f", image) })

	mustCompose(t, dir, "build")
	r := composeIn(t, dir, 3*time.Minute, "push")
	if r.code != 0 || !strings.Contains(r.stdout+r.stderr, "Pushed") {
		t.Fatalf("push: %s", r)
	}
	must(t, "rmi", image)
	r = composeIn(t, dir, 3*time.Minute, "pull")
	if r.code != 0 || !strings.Contains(r.stdout+r.stderr, "Pulled") {
		t.Fatalf("pull: %s", r)
	}
	must(t, "image", "inspect", image)
	mustCompose(t, dir, "up", "-d", "--wait")
	if out := mustCompose(t, dir, "exec", "-T", "app", "cat", "/content"); strings.TrimSpace(out) != "pushed" {
		t.Errorf("the pulled image holds %q", out)
	}
	mustCompose(t, dir, "down", "-t", "1")
	assertProjectGone(t, project)
}

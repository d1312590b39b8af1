//go:build e2e

package main_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The engine features compose leans on, each proved through compose:
// depends_on service_completed_successfully, extends, env_file, include,
// profiles, secrets and configs (from a file, the environment and
// content:), deploy limits, network aliases, compose's labels and label
// filters, and an anonymous volume that outlives a recreate but not
// down -v.
func TestComposeFeatures(t *testing.T) {
	project := "e2e-compose-features"
	t.Setenv("E2E_COMPOSE_SECRET", "from the environment")
	dir := composeProject(t, fmt.Sprintf(`name: %s
include:
  - inc/compose.yaml
services:
  init:
    image: %[2]s
    command: ["sh", "-c", "sleep 1; echo init done > /shared/init"]
    volumes: [shared:/shared]
  app:
    extends:
      file: base.yaml
      service: base
    command: ["sh", "-c", "cat /shared/init > /seen; exec sleep 600"]
    depends_on:
      init:
        condition: service_completed_successfully
    env_file: app.env
    labels:
      custom.label: kept
    volumes:
      - shared:/shared
      - /anon
    secrets: [filesecret, envsecret]
    configs:
      - source: fileconf
        target: /etc/app.conf
      - source: inlineconf
        target: /etc/inline.conf
    deploy:
      resources:
        limits:
          cpus: "0.5"
          memory: 64M
    networks:
      back:
        aliases: [api]
  debug:
    image: %[2]s
    profiles: [debug]
    command: ["sleep", "600"]
    networks: [back]
networks:
  back: {}
volumes:
  shared: {}
secrets:
  filesecret:
    file: ./secret.txt
  envsecret:
    environment: E2E_COMPOSE_SECRET
configs:
  fileconf:
    file: ./app.conf
  inlineconf:
    content: |
      inline config
`, project, busybox))
	writeFiles(t, dir, map[string]string{
		"base.yaml":        fmt.Sprintf("services:\n  base:\n    image: %s\n    environment:\n      FROM_BASE: \"1\"\n", busybox),
		"app.env":          "FROM_ENV_FILE=yes\n# a comment\nOTHER=two words\n",
		"secret.txt":       "s3cret\n",
		"app.conf":         "conf from file\n",
		"inc/compose.yaml": fmt.Sprintf("services:\n  included:\n    image: %s\n    command: [\"sleep\", \"600\"]\n", busybox),
	})
	t.Cleanup(func() {
		composeIn(t, dir, 2*time.Minute, "--profile", "debug", "down", "-v", "-t", "1")
		assertProjectGone(t, project)
	})

	mustCompose(t, dir, "up", "-d", "--wait")
	ps := composePs(t, dir)
	if ps["init"].State != "exited" || ps["init"].ExitCode != 0 || ps["app"].State != "running" || ps["included"].State != "running" {
		t.Errorf("after up: %+v", ps)
	}
	if _, ok := ps["debug"]; ok {
		t.Errorf("the debug profile's service runs without --profile: %+v", ps["debug"])
	}
	app := func(script string) string {
		t.Helper()
		return strings.TrimSpace(mustCompose(t, dir, "exec", "-T", "app", "sh", "-c", script))
	}
	// service_completed_successfully: app started once init had written.
	if got := app("cat /seen"); got != "init done" {
		t.Errorf("app saw %q at its start, want init's output", got)
	}
	if got := app(`echo "$FROM_BASE|$FROM_ENV_FILE|$OTHER"`); got != "1|yes|two words" {
		t.Errorf("extends and env_file: %q", got)
	}
	if got := app("cat /run/secrets/filesecret; cat /run/secrets/envsecret; echo"); got != "s3cret\nfrom the environment" {
		t.Errorf("secrets: %q", got)
	}
	if got := app("cat /etc/app.conf /etc/inline.conf"); got != "conf from file\ninline config" {
		t.Errorf("configs: %q", got)
	}

	// deploy.resources.limits reach the container and its cgroup.
	name := project + "-app-1"
	if got := must(t, "inspect", "--format", "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}", name); got != "500000000 67108864" {
		t.Errorf("limits in inspect: %q", got)
	}
	cg := app("cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max; " +
		"cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max")
	if cg != "50000\n67108864" {
		t.Errorf("the container's cgroup: cpu quota and memory limit %q, want 50000 and 67108864", cg)
	}

	// compose's labels, kept exactly, and filters by them.
	labels := must(t, "inspect", "--format", `{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}`, name)
	for _, want := range []string{
		"com.docker.compose.project=" + project,
		"com.docker.compose.service=app",
		"com.docker.compose.container-number=1",
		"com.docker.compose.oneoff=False",
		"com.docker.compose.project.working_dir=" + dir,
		"com.docker.compose.project.config_files=" + filepath.Join(dir, "compose.yaml"),
		"com.docker.compose.depends_on=init:service_completed_successfully:false",
		"custom.label=kept",
	} {
		if !strings.Contains(";"+labels, ";"+want+";") {
			t.Errorf("app's labels lack %q:\n%s", want, labels)
		}
	}
	appID := must(t, "inspect", "--format", "{{.Id}}", name)
	if got := containerIDs(t, project, "app"); len(got) != 1 || got[0] != appID {
		t.Errorf("the service's label filter finds %v, want %s", got, appID)
	}
	if got := must(t, "ps", "-q", "--no-trunc", "--filter", "label=custom.label=kept"); got != appID {
		t.Errorf("the custom label's filter finds %q", got)
	}
	if got := must(t, "network", "ls", "--format", "{{.Name}}", "--filter", "label=com.docker.compose.network=back"); got != project+"_back" {
		t.Errorf("the network's label filter finds %q", got)
	}
	if got := must(t, "volume", "ls", "-q", "--filter", "label=com.docker.compose.volume=shared"); got != project+"_shared" {
		t.Errorf("the volume's label filter finds %q", got)
	}

	// profiles: the debug service on demand; it reaches app by its alias.
	mustCompose(t, dir, "--profile", "debug", "up", "-d", "--wait", "debug")
	if ps := composePs(t, dir); ps["debug"].State != "running" {
		t.Errorf("--profile debug up debug: %+v", ps["debug"])
	}
	ip := must(t, "inspect", "--format", `{{(index .NetworkSettings.Networks "`+project+`_back").IPAddress}}`, name)
	if out := mustCompose(t, dir, "exec", "-T", "debug", "ping", "-c", "1", "-W", "5", "api"); !strings.Contains(out, "("+ip+")") {
		t.Errorf("the alias api from debug (want %s): %s", ip, out)
	}

	// An anonymous volume outlives a recreate and goes with down -v.
	app("echo kept > /anon/f")
	anon := must(t, "inspect", "--format", `{{range .Mounts}}{{if eq .Destination "/anon"}}{{.Name}}{{end}}{{end}}`, name)
	mustCompose(t, dir, "up", "-d", "--wait", "--force-recreate", "app")
	if got := must(t, "inspect", "--format", "{{.Id}}", name); got == appID {
		t.Errorf("--force-recreate kept container %s", got)
	}
	if got := app("cat /anon/f"); got != "kept" {
		t.Errorf("after a recreate the anonymous volume holds %q", got)
	}
	mustCompose(t, dir, "--profile", "debug", "down", "-v", "-t", "1")
	assertProjectGone(t, project)
	if r := skiff(t, "volume", "inspect", anon); r.code == 0 {
		t.Errorf("down -v left the anonymous volume %s", anon)
	}
}

// TestComposeRestartPolicy: restart: on-failure:2 runs a failing service
// three times in all; restart: always brings back one that exits 0.
func TestComposeRestartPolicy(t *testing.T) {
	project := "e2e-compose-restart"
	dir := composeProject(t, fmt.Sprintf(`name: %s
services:
  flaky:
    image: %[2]s
    command: ["sh", "-c", "echo run; exit 2"]
    restart: on-failure:2
  always:
    image: %[2]s
    command: ["sh", "-c", "sleep 1"]
    restart: always
`, project, busybox))
	composeDown(t, dir, project)
	mustCompose(t, dir, "up", "-d")
	flaky, always := project+"-flaky-1", project+"-always-1"
	if got := must(t, "inspect", "--format", "{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}", flaky); got != "on-failure:2" {
		t.Errorf("flaky's restart policy: %q", got)
	}
	eventually(t, time.Minute, "flaky to give up after two restarts", func() bool {
		return must(t, "inspect", "--format", "{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}", flaky) == "exited 2 2"
	})
	if out := mustCompose(t, dir, "logs", "--no-color", "--no-log-prefix", "flaky"); strings.Count(out, "run") != 3 {
		t.Errorf("flaky ran %d times, want 3:\n%s", strings.Count(out, "run"), out)
	}
	eventually(t, time.Minute, "always to be restarted", func() bool {
		var n int
		fmt.Sscan(must(t, "inspect", "--format", "{{.RestartCount}}", always), &n)
		return n >= 2
	})
	mustCompose(t, dir, "down", "-t", "1")
	assertProjectGone(t, project)
}

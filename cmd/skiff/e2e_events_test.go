//go:build e2e

package main_test

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestEventsContainerLifecycle follows a container's life on skiff events
// as it happens, then reads the same events back from the history.
func TestEventsContainerLifecycle(t *testing.T) {
	must(t, "ps") // the agent is up before the clock starts
	since := strconv.FormatInt(time.Now().Add(-time.Second).Unix(), 10)
	name := "ev-life"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	follow := exec.CommandContext(ctx, filepath.Join(binDir, "skiff"), "events", "--since", since,
		"--filter", "container="+name, "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{index .Actor.Attributes \"exitCode\"}}")
	follow.Env = env()
	out, err := follow.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = follow.Wait() }()

	if r := skiff(t, "run", "--name", name, busybox, "sh", "-c", "exit 3"); r.code != 3 {
		t.Fatalf("run: %s", r)
	}
	must(t, "rm", name)

	var got []string
	s := bufio.NewScanner(out)
	for s.Scan() {
		got = append(got, strings.TrimSpace(s.Text()))
		if strings.HasPrefix(s.Text(), "container destroy") {
			break
		}
	}
	want := []string{"container create " + name, "container start " + name, "container die " + name + " 3", "container destroy " + name}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("skiff events printed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The history, in docker's text lines, ends at --until.
	until := strconv.FormatInt(time.Now().Unix()+1, 10)
	r := must(t, "events", "--since", since, "--until", until, "--filter", "container="+name, "--filter", "event=die")
	line := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) container die [0-9a-f]{64} \(execDuration=\d+, exitCode=3, image=localhost/busybox:latest, name=ev-life\)$`)
	if !line.MatchString(r) {
		t.Fatalf("skiff events --until printed %q, not docker's line", r)
	}
}

// TestEventsImagesAndVolumes shows the image, volume and network events,
// filtered by type.
func TestEventsImagesAndVolumes(t *testing.T) {
	must(t, "ps")
	since := strconv.FormatInt(time.Now().Add(-time.Second).Unix(), 10)
	must(t, "tag", busybox, "ev-tag:1")
	must(t, "rmi", "ev-tag:1")
	must(t, "volume", "create", "ev-vol")
	must(t, "volume", "rm", "ev-vol")
	must(t, "network", "create", "ev-net")
	must(t, "network", "rm", "ev-net")
	until := strconv.FormatInt(time.Now().Unix()+1, 10)
	r := must(t, "events", "--since", since, "--until", until, "--filter", "type=image", "--filter", "type=volume", "--filter", "type=network",
		"--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}")
	want := []string{"image tag ev-tag:1", "image untag ev-tag:1", "volume create", "volume destroy", "network create ev-net", "network destroy ev-net"}
	if !containsInOrder(r, want) {
		t.Fatalf("skiff events printed:\n%s\nwant, in order:\n%s", r, strings.Join(want, "\n"))
	}
}

// containsInOrder reports whether each of want starts a line of text, in
// that order.
func containsInOrder(text string, want []string) bool {
	lines := strings.Split(text, "\n")
	i := 0
	for _, l := range lines {
		if i < len(want) && strings.HasPrefix(strings.TrimSpace(l), want[i]) {
			i++
		}
	}
	return i == len(want)
}

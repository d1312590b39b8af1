package compose

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

func TestEnvironPointsComposeAtTheMachineOnly(t *testing.T) {
	env := []string{
		"PATH=/usr/bin",
		"DOCKER_HOST=tcp://elsewhere:2376",
		"DOCKER_CONTEXT=desktop-linux",
		"DOCKER_TLS_VERIFY=1",
		"DOCKER_CERT_PATH=/certs",
		"DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND=/usr/bin/docker",
		"COMPOSE_PROJECT_NAME=shop",
		"DOCKER_HOSTNAME=kept",
	}
	got := Environ(env, "unix:///home/me/.skiff/machines/default/docker.sock")
	want := []string{
		"PATH=/usr/bin",
		"COMPOSE_PROJECT_NAME=shop",
		"DOCKER_HOSTNAME=kept",
		"DOCKER_HOST=unix:///home/me/.skiff/machines/default/docker.sock",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Environ =\n%q\nwant\n%q", got, want)
	}
}

func TestFindInNamesTheFix(t *testing.T) {
	dir := t.TempDir()
	_, err := findIn(dir)
	if !errdefs.IsNotFound(err) {
		t.Fatalf("findIn(empty) = %v, want a not-found error", err)
	}
	for _, want := range []string{filepath.Join(dir, pluginFile()), "make", "SKIFF_COMPOSE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}

	p := filepath.Join(dir, pluginFile())
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := findIn(dir)
	if err != nil || got != p {
		t.Errorf("findIn = %q, %v; want %q", got, err, p)
	}
}

func TestFindHonoursSkiffCompose(t *testing.T) {
	p := filepath.Join(t.TempDir(), "my-compose")
	if err := os.WriteFile(p, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SKIFF_COMPOSE", p)
	if got, err := Find(); err != nil || got != p {
		t.Errorf("Find = %q, %v; want %q", got, err, p)
	}
	t.Setenv("SKIFF_COMPOSE", p+".missing")
	if _, err := Find(); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Find with a missing SKIFF_COMPOSE = %v", err)
	}
}

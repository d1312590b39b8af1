package pathmap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/skiffrun/skiff/platform"
)

func share(p string) platform.Share {
	return platform.Share{HostPath: p, GuestPath: platform.GuestPath(p)}
}

func TestAgentPath(t *testing.T) {
	shared, added, outside := t.TempDir(), t.TempDir(), t.TempDir()
	link := filepath.Join(outside, "link")
	if err := os.Symlink(shared, link); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(outside, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	configured := []platform.Share{share(shared), share(added)}
	running := Running(configured, []string{shared + string(filepath.Separator)})
	if len(running) != 1 || running[0].HostPath != shared {
		t.Fatalf("Running = %v, want only %s", running, shared)
	}
	up := Shares{Machine: "m", Running: running, Configured: configured, Up: true}
	stopped := Shares{Machine: "m", Running: configured, Configured: configured}

	for _, tc := range []struct {
		name   string
		s      Shares
		in     string
		want   string
		errHas string
	}{
		{name: "inside a share", s: up, in: filepath.Join(shared, "a", "b"), want: platform.GuestPath(filepath.Join(shared, "a", "b"))},
		{name: "through a symlink", s: up, in: link, want: platform.GuestPath(shared)},
		{name: "added while running", s: up, in: added, errHas: `shared with machine "m" from its next start; restart it`},
		{name: "added while stopped", s: stopped, in: added, want: platform.GuestPath(added)},
		{name: "outside, running", s: up, in: outside, errHas: "add it with skiff machine set --share " + outside + ", then restart the machine"},
		{name: "outside, stopped", s: stopped, in: outside, errHas: "is not shared with machine \"m\"; add it with skiff machine set --share " + outside},
		{name: "a file suggests its folder", s: stopped, in: file, errHas: "--share " + outside},
		{name: "a sibling with the share's prefix", s: stopped, in: shared + "x", errHas: "is not shared"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.s.AgentPath(tc.in)
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) || !errdefs.IsFailedPrecondition(err) {
					t.Fatalf("AgentPath(%s) = %q, %v; want a failed precondition with %q", tc.in, got, err, tc.errHas)
				}
				if !tc.s.Up && strings.Contains(err.Error(), "restart") {
					t.Errorf("a stopped machine needs no restart: %v", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("AgentPath(%s) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
	sock := filepath.Join(outside, "docker.sock")
	withSockets := up
	withSockets.Sockets = map[string]string{"/var/run/docker.sock": "/var/run/docker.sock", sock: "/var/run/docker.sock"}
	for _, in := range []string{"/var/run/docker.sock", "/var/run/../run/docker.sock", sock} {
		if got, err := withSockets.AgentPath(in); err != nil || got != "/var/run/docker.sock" {
			t.Errorf("AgentPath(%s) = %q, %v; want the machine's docker socket", in, got, err)
		}
	}
	if _, err := withSockets.AgentPath(filepath.Join(outside, "other.sock")); err == nil {
		t.Errorf("a path beside the socket was mapped")
	}
	if got := Running(configured, nil); len(got) != 2 {
		t.Errorf("Running with no record = %v, want every configured share", got)
	}
}

package containers

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCreateMounts(t *testing.T) {
	dir := t.TempDir()
	shared := filepath.Join(dir, "shared")
	if err := os.Mkdir(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	var asked []string
	// agentPath plays a machine that shares only shared, at /guest.
	agentPath := func(p string) (string, error) {
		asked = append(asked, p)
		rel, err := filepath.Rel(shared, p)
		if err != nil || strings.HasPrefix(rel, "..") {
			return "", errors.New(p + " is not shared")
		}
		return filepath.Join("/guest", rel), nil
	}
	o := CreateOptions{
		Image:     "busybox",
		Volumes:   []string{shared + "/new/sub:/src:ro", "/anon", "named:/named"},
		Mounts:    []string{"type=bind,src=" + shared + ",dst=/all", "type=tmpfs,dst=/t,tmpfs-size=1k", "type=volume,dst=/v2"},
		Tmpfs:     []string{"/run"},
		AgentPath: agentPath,
	}
	req, err := o.Request()
	if err != nil {
		t.Fatal(err)
	}
	cfg, hc := req.GetConfig(), req.GetHostConfig()
	if len(cfg.Volumes) != 1 || cfg.Volumes[0] != "/anon" {
		t.Errorf("anonymous volumes: %v", cfg.Volumes)
	}
	if len(hc.Tmpfs) != 2 || hc.Tmpfs[1] != "/t:size=1024" {
		t.Errorf("tmpfs: %v", hc.Tmpfs)
	}
	var got []string
	for _, m := range hc.Mounts {
		got = append(got, m.Type+" "+m.Source+" "+m.HostSource+" "+m.Target)
	}
	want := []string{
		"bind /guest/new/sub " + shared + "/new/sub /src",
		"volume named  /named",
		"bind /guest " + shared + " /all",
		"volume   /v2",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("mounts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if st, err := os.Stat(filepath.Join(shared, "new", "sub")); err != nil || !st.IsDir() {
		t.Errorf("-v did not make the missing folder: %v", err)
	}

	for _, tc := range []struct {
		name string
		o    CreateOptions
		err  string
	}{
		{"outside the shares", CreateOptions{Volumes: []string{dir + "/elsewhere:/x"}}, "is not shared"},
		{"duplicate", CreateOptions{Volumes: []string{"/x", "v1:/x"}}, "duplicate mount point /x"},
		{"duplicate with tmpfs", CreateOptions{Tmpfs: []string{"/x:size=1m"}, Mounts: []string{"type=volume,dst=/x/"}}, "duplicate mount point /x"},
		{"missing --mount source", CreateOptions{Mounts: []string{"type=bind,src=" + dir + "/nope,dst=/x"}}, "bind source path does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Image, tc.o.AgentPath = "busybox", agentPath
			if _, err := tc.o.Request(); err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("Request = %v, want an error with %q", err, tc.err)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "elsewhere")); !os.IsNotExist(err) {
		t.Errorf("a folder outside the shares was made: %v", err)
	}
}

// Docker's socket path names the machine's socket, which the host may
// lack: a bind of it is not checked on the host (nor, for -v, made).
func TestCreateMountsDockerSocket(t *testing.T) {
	if _, err := os.Lstat("/var/run/docker.sock"); err == nil {
		t.Skip("this host has a /var/run/docker.sock")
	}
	machineSocket := func(p string) (string, error) {
		if p != "/var/run/docker.sock" {
			return "", errors.New(p + " is not shared")
		}
		return "/var/run/docker.sock", nil
	}
	o := CreateOptions{Image: "busybox", Mounts: []string{"type=bind,src=/var/run/docker.sock,dst=/var/run/docker.sock"}, AgentPath: machineSocket}
	req, err := o.Request()
	if err != nil {
		t.Fatal(err)
	}
	if ms := req.GetHostConfig().Mounts; len(ms) != 1 || ms[0].Source != "/var/run/docker.sock" {
		t.Errorf("mounts %v, want the machine's docker socket", ms)
	}
	for _, p := range []string{"/var/run/docker.sock", "/var/run//docker.sock"} {
		if !dockerSocket(p) {
			t.Errorf("dockerSocket(%q) = false", p)
		}
	}
	if dockerSocket("/var/run/docker.sock.d") || dockerSocket("/tmp/docker.sock") {
		t.Errorf("dockerSocket takes other paths")
	}
}

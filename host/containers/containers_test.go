package containers

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

func TestStatusText(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) int64 { return now.Add(-d).UnixNano() }
	tests := []struct {
		name string
		st   *apiv1.ContainerState
		want string
	}{
		{"created", &apiv1.ContainerState{Status: "created"}, "Created"},
		{"running", &apiv1.ContainerState{Status: "running", Running: true, StartedAt: ago(3 * time.Second)}, "Up 3 seconds"},
		{"running an hour", &apiv1.ContainerState{Status: "running", Running: true, StartedAt: ago(time.Hour)}, "Up About an hour"},
		{"paused", &apiv1.ContainerState{Status: "paused", Running: true, Paused: true, StartedAt: ago(5 * time.Minute)}, "Up 5 minutes (Paused)"},
		{"exited", &apiv1.ContainerState{Status: "exited", StartedAt: ago(time.Hour), FinishedAt: ago(2 * time.Minute)}, "Exited (0) 2 minutes ago"},
		{"exited non-zero", &apiv1.ContainerState{Status: "exited", ExitCode: 137, StartedAt: ago(time.Hour), FinishedAt: ago(30 * time.Second)}, "Exited (137) 30 seconds ago"},
		{"restarting", &apiv1.ContainerState{Status: "restarting", Restarting: true, Running: true, ExitCode: 1, StartedAt: ago(time.Minute), FinishedAt: ago(time.Second)}, "Restarting (1) 1 second ago"},
		{"removing", &apiv1.ContainerState{Status: "removing"}, "Removal In Progress"},
		{"dead", &apiv1.ContainerState{Status: "dead", Dead: true}, "Dead"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := StatusText(tc.st, now); got != tc.want {
				t.Errorf("StatusText = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNewRow(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	c := &apiv1.Container{
		Id: "0123456789abcdef", Name: "/web", Image: "sha256:abcdef0123456789abcdef", Created: now.Add(-5 * time.Second).UnixNano(),
		Path: "sh", Args: []string{"-c", "echo hi; sleep 100"},
		Config: &apiv1.ContainerConfig{Labels: map[string]string{"b": "2", "a": "1"}},
		State:  &apiv1.ContainerState{Status: "created"},
	}
	r := NewRow(c, now, true)
	if r.ID != "0123456789ab" || r.Image != "abcdef012345" || r.Names != "web" || r.RunningFor != "5 seconds ago" || r.Status != "Created" {
		t.Errorf("row = %+v", r)
	}
	if r.Command != `"sh -c 'echo hi; sle…"` {
		t.Errorf("command = %s", r.Command)
	}
	if r.Labels != "a=1,b=2" || r.Label("b") != "2" {
		t.Errorf("labels = %q", r.Labels)
	}
	full := NewRow(c, now, false)
	if full.ID != c.Id || full.Command != `"sh -c 'echo hi; sleep 100'"` {
		t.Errorf("untruncated row = %+v", full)
	}
}

func TestInspectShape(t *testing.T) {
	c := &apiv1.Container{
		Id: "abc", Name: "web", Image: "busybox", ImageId: "sha256:feed",
		Created: time.Date(2024, 5, 1, 12, 0, 0, 5, time.UTC).UnixNano(),
		Path:    "sh", Args: []string{"-c", "true"},
		Config: &apiv1.ContainerConfig{Image: "busybox", Env: []string{"A=1"}, Tty: true, StopTimeout: 3, StopTimeoutSet: true},
		HostConfig: &apiv1.HostConfig{
			Memory: 1 << 20, PidsLimit: 10, Init: true, Tmpfs: []string{"/run:size=1m", "/tmp"},
			Ulimits:       []*apiv1.Ulimit{{Name: "nofile", Soft: 1, Hard: 2}},
			RestartPolicy: &apiv1.RestartPolicy{Name: "on-failure", MaximumRetryCount: 3},
		},
		State: &apiv1.ContainerState{Status: "exited", ExitCode: 2, StartedAt: time.Date(2024, 5, 1, 12, 0, 1, 0, time.UTC).UnixNano()},
	}
	b, err := json.Marshal(NewInspect(c))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"Id", "Created", "Path", "Args", "State", "Image", "Name", "RestartCount", "LogPath", "HostConfig", "Config"} {
		if _, ok := got[key]; !ok {
			t.Errorf("no %s in %s", key, b)
		}
	}
	if got["Id"] != "abc" || got["Name"] != "/web" || got["Image"] != "sha256:feed" || got["Created"] != "2024-05-01T12:00:00.000000005Z" {
		t.Errorf("top level: %s", b)
	}
	state := got["State"].(map[string]any)
	for _, key := range []string{"Status", "Running", "Paused", "Restarting", "OOMKilled", "Dead", "Pid", "ExitCode", "Error", "StartedAt", "FinishedAt"} {
		if _, ok := state[key]; !ok {
			t.Errorf("no State.%s", key)
		}
	}
	if state["ExitCode"] != 2.0 || state["StartedAt"] != "2024-05-01T12:00:01Z" || state["FinishedAt"] != "0001-01-01T00:00:00Z" {
		t.Errorf("state: %v", state)
	}
	hc := got["HostConfig"].(map[string]any)
	if hc["Memory"] != float64(1<<20) || hc["PidsLimit"] != 10.0 || hc["Init"] != true {
		t.Errorf("host config: %v", hc)
	}
	if rp := hc["RestartPolicy"].(map[string]any); rp["Name"] != "on-failure" || rp["MaximumRetryCount"] != 3.0 {
		t.Errorf("restart policy: %v", rp)
	}
	if tm := hc["Tmpfs"].(map[string]any); tm["/run"] != "size=1m" || tm["/tmp"] != "" {
		t.Errorf("tmpfs: %v", tm)
	}
	cfg := got["Config"].(map[string]any)
	for _, key := range []string{"Hostname", "User", "Env", "Cmd", "Entrypoint", "WorkingDir", "Labels", "Tty", "OpenStdin", "Image"} {
		if _, ok := cfg[key]; !ok {
			t.Errorf("no Config.%s", key)
		}
	}
	if cfg["StopTimeout"] != 3.0 || cfg["Image"] != "busybox" || cfg["Tty"] != true {
		t.Errorf("config: %v", cfg)
	}
	// Key order follows docker's, which people diff against.
	if i, j := strings.Index(string(b), `"Id"`), strings.Index(string(b), `"Config"`); i > j {
		t.Errorf("Id after Config: %s", b)
	}
}

func TestCreateRequestDefaults(t *testing.T) {
	o := CreateOptions{Image: "busybox", Interactive: true, StdinOnce: true}
	req, err := o.Request()
	if err != nil {
		t.Fatal(err)
	}
	if !req.GetConfig().GetOpenStdin() || !req.GetConfig().GetStdinOnce() || req.GetHostConfig().GetRestartPolicy().GetName() != "no" {
		t.Errorf("request = %v", req)
	}
	o = CreateOptions{Image: "busybox", StdinOnce: true}
	if req, _ := o.Request(); req.GetConfig().GetStdinOnce() {
		t.Error("stdin_once without -i")
	}
	if _, err := (&CreateOptions{}).Request(); err == nil {
		t.Error("no image accepted")
	}
	o = CreateOptions{Image: "busybox", Memory: "1g", MemorySwap: "512m"}
	if _, err := o.Request(); err == nil || !strings.Contains(err.Error(), "--memory-swap") {
		t.Errorf("swap below memory: %v", err)
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		exit    *apiv1.Exit
		code    int
		wantErr bool
	}{
		{&apiv1.Exit{Code: 0}, 0, false},
		{&apiv1.Exit{Code: 42}, 42, false},
		{&apiv1.Exit{Code: 130, Detached: true}, 0, false},
		{&apiv1.Exit{Code: 127, Error: "not found"}, 127, true},
		{&apiv1.Exit{Error: "could not start"}, 125, true},
	}
	for _, tc := range tests {
		code, err := exitCode(tc.exit)
		if code != tc.code || (err != nil) != tc.wantErr {
			t.Errorf("exitCode(%v) = %d, %v", tc.exit, code, err)
		}
	}
}

package container

import (
	"slices"
	"syscall"
	"testing"
	"time"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

func TestCheckRestartPolicy(t *testing.T) {
	tests := []struct {
		name    string
		p       *apiv1.RestartPolicy
		rm      bool
		wantErr bool
	}{
		{"no", &apiv1.RestartPolicy{Name: "no"}, true, false},
		{"always", &apiv1.RestartPolicy{Name: "always"}, false, false},
		{"on-failure with max", &apiv1.RestartPolicy{Name: "on-failure", MaximumRetryCount: 3}, false, false},
		{"always with max", &apiv1.RestartPolicy{Name: "always", MaximumRetryCount: 2}, false, true},
		{"unknown", &apiv1.RestartPolicy{Name: "sometimes"}, false, true},
		{"with --rm", &apiv1.RestartPolicy{Name: "unless-stopped"}, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := checkRestartPolicy(tc.p, tc.rm); (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

func TestShouldRestart(t *testing.T) {
	pol := func(n string, max int32) *apiv1.RestartPolicy {
		return &apiv1.RestartPolicy{Name: n, MaximumRetryCount: max}
	}
	tests := []struct {
		name     string
		p        *apiv1.RestartPolicy
		code     int
		restarts int32
		stopped  bool
		want     bool
	}{
		{"no", pol("no", 0), 1, 0, false, false},
		{"always after success", pol("always", 0), 0, 5, false, true},
		{"always after stop", pol("always", 0), 0, 0, true, false},
		{"unless-stopped", pol("unless-stopped", 0), 3, 0, false, true},
		{"on-failure success", pol("on-failure", 0), 0, 0, false, false},
		{"on-failure failure", pol("on-failure", 0), 2, 9, false, true},
		{"on-failure under max", pol("on-failure", 3), 1, 2, false, true},
		{"on-failure at max", pol("on-failure", 3), 1, 3, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := shouldRestart(tc.p, tc.code, tc.restarts, tc.stopped); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBackoffGrowsAndResets(t *testing.T) {
	d := nextBackoff(0, 0)
	var seen []time.Duration
	for range 12 {
		seen = append(seen, d)
		d = nextBackoff(d, time.Second)
	}
	if seen[0] != 100*time.Millisecond || seen[1] != 200*time.Millisecond || seen[11] != time.Minute {
		t.Fatalf("back-off %v", seen)
	}
	if got := nextBackoff(time.Minute, 11*time.Second); got != 100*time.Millisecond {
		t.Fatalf("after a long run: %v, want 100ms", got)
	}
}

func TestCommand(t *testing.T) {
	img := &apiv1.ImageConfig{Entrypoint: []string{"/entry"}, Cmd: []string{"default"}}
	tests := []struct {
		name    string
		cfg     *apiv1.ContainerConfig
		want    []string
		wantErr bool
	}{
		{"image", &apiv1.ContainerConfig{}, []string{"/entry", "default"}, false},
		{"cmd", &apiv1.ContainerConfig{Cmd: []string{"x"}}, []string{"/entry", "x"}, false},
		{"entrypoint drops cmd", &apiv1.ContainerConfig{EntrypointSet: true, Entrypoint: []string{"sh"}}, []string{"sh"}, false},
		{"empty entrypoint", &apiv1.ContainerConfig{EntrypointSet: true, Cmd: []string{"ls"}}, []string{"ls"}, false},
		{"nothing", &apiv1.ContainerConfig{EntrypointSet: true}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, a, err := command(tc.cfg, img)
			if tc.wantErr {
				if err == nil {
					t.Fatal("want error")
				}
				return
			}
			if got := append([]string{p}, a...); err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestMergeEnv(t *testing.T) {
	got := mergeEnv([]string{"PATH=/bin", "A=1"}, []string{"A=2", "B=3"})
	want := []string{"PATH=/bin", "A=2", "B=3"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got := setDefaultEnv(want, "PATH", "/x"); envValue(got, "PATH") != "/bin" {
		t.Fatal("default overrode a set variable")
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]syscall.Signal{"SIGTERM": syscall.SIGTERM, "kill": syscall.SIGKILL, "HUP": syscall.SIGHUP, "9": syscall.SIGKILL} {
		if got, err := ParseSignal(in); err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "SIGFOO", "0", "99", "-1"} {
		if _, err := ParseSignal(bad); err == nil {
			t.Errorf("ParseSignal(%q): want error", bad)
		}
	}
}

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"web", "a1", "my_app.v2-x"} {
		if err := checkName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"a", "-x", "has space", "ünï", "a/b"} {
		if err := checkName(bad); err == nil {
			t.Errorf("%q: want error", bad)
		}
	}
}

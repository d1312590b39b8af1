package machine

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/containerd/errdefs"
	"google.golang.org/grpc"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/platform"
)

// fakeDriver records its calls; its Start serves a fake agent on the
// spec's socket, as a real driver's agent would.
type fakeDriver struct {
	mu              sync.Mutex
	starts          []platform.MachineSpec
	stops           []platform.MachineSpec
	stopHadDeadline bool
	agent           *fakeAgent
	srv             *grpc.Server
}

func (d *fakeDriver) Start(_ context.Context, spec platform.MachineSpec) (platform.Machine, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.starts = append(d.starts, spec)
	srv, err := serveAgent(spec.AgentSocket, d.agent)
	d.srv = srv
	return &fakeMachine{d: d, spec: spec}, err
}

// Attach finds the machine whether it runs or not, so Stop always lets
// it clean up.
func (d *fakeDriver) Attach(_ context.Context, spec platform.MachineSpec) (platform.Machine, error) {
	return &fakeMachine{d: d, spec: spec}, nil
}

type fakeMachine struct {
	d    *fakeDriver
	spec platform.MachineSpec
}

func (m *fakeMachine) AgentConn(ctx context.Context) (net.Conn, error) {
	var dd net.Dialer
	return dd.DialContext(ctx, "unix", m.spec.AgentSocket)
}

func (m *fakeMachine) Wait(context.Context) error { return nil }

func (m *fakeMachine) Stop(ctx context.Context) error {
	d := m.d
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stops = append(d.stops, m.spec)
	_, d.stopHadDeadline = ctx.Deadline()
	if d.srv != nil {
		d.srv.Stop()
	}
	os.Remove(m.spec.AgentSocket)
	return nil
}

type fakeAgent struct {
	apiv1.UnimplementedSystemServer
	mu        sync.Mutex
	shutdowns int
}

func (a *fakeAgent) Version(context.Context, *apiv1.Empty) (*apiv1.VersionResponse, error) {
	return &apiv1.VersionResponse{Version: "fake"}, nil
}

func (a *fakeAgent) Shutdown(context.Context, *apiv1.Empty) (*apiv1.Empty, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.shutdowns++
	return &apiv1.Empty{}, nil
}

func serveAgent(sock string, a *fakeAgent) (*grpc.Server, error) {
	l, err := net.Listen("unix", sock)
	if err != nil {
		return nil, err
	}
	srv := grpc.NewServer()
	apiv1.RegisterSystemServer(srv, a)
	go srv.Serve(l)
	return srv, nil
}

var (
	registerOnce sync.Once
	vmOnce       sync.Once
	driver       = &fakeDriver{}
)

// useFakeDriver registers the fake driver once and resets it.
func useFakeDriver(t *testing.T) *fakeDriver {
	t.Helper()
	registerOnce.Do(func() { platform.Register("fake", driver) })
	driver.mu.Lock()
	driver.starts, driver.stops, driver.agent, driver.srv = nil, nil, &fakeAgent{}, nil
	driver.mu.Unlock()
	t.Cleanup(func() {
		if driver.srv != nil {
			driver.srv.Stop()
		}
	})
	return driver
}

// shortHome is a SKIFF_HOME short enough for a unix socket path.
func shortHome(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "skh")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	t.Setenv("SKIFF_HOME", dir)
	t.Setenv("SKIFF_MACHINE", "")
	t.Setenv("SKIFF_DRIVER", "")
	return dir
}

func TestNewResolvesTheMachine(t *testing.T) {
	home := shortHome(t)
	tests := []struct {
		name   string
		env    map[string]string
		opts   Options
		driver string
		mname  string
	}{
		{"defaults", nil, Options{}, defaultDriver(filepath.Join(home, "machines", "default")), "default"},
		{"environment", map[string]string{"SKIFF_MACHINE": "dev", "SKIFF_DRIVER": "qemu"}, Options{}, "qemu", "dev"},
		{"flags beat environment", map[string]string{"SKIFF_MACHINE": "dev", "SKIFF_DRIVER": "qemu"}, Options{Name: "ci", Driver: "native"}, "native", "ci"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			m, err := New(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			s := m.Spec()
			dir := filepath.Join(home, "machines", tc.mname)
			if s.Name != tc.mname || s.Driver != tc.driver || s.Dir != dir ||
				s.AgentSocket != filepath.Join(dir, "skiff.sock") || s.AgentRoot != filepath.Join(dir, "agent") ||
				s.Log != filepath.Join(dir, "agent.log") || s.PIDFile != filepath.Join(dir, "agent.pid") {
				t.Errorf("spec = %+v", s)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Error("New created the machine directory")
			}
		})
	}
}

func TestNewRejectsBadMachines(t *testing.T) {
	shortHome(t)
	if _, err := New(Options{Name: "../x"}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("name ../x: %v", err)
	}
	if _, err := New(Options{Home: "/" + strings.Repeat("d", 120)}); err == nil || !strings.Contains(err.Error(), "SKIFF_HOME") {
		t.Errorf("long socket path: %v", err)
	}
}

func TestFindAgent(t *testing.T) {
	dir := t.TempDir()
	agent := filepath.Join(dir, "skiff-agent")
	if err := os.WriteFile(agent, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}

	t.Setenv("SKIFF_AGENT", agent)
	if got, err := findAgent(); err != nil || got != agent {
		t.Errorf("SKIFF_AGENT: %q, %v", got, err)
	}
	t.Setenv("SKIFF_AGENT", filepath.Join(dir, "nope"))
	if _, err := findAgent(); err == nil || !strings.Contains(err.Error(), "SKIFF_AGENT") {
		t.Errorf("missing SKIFF_AGENT: %v", err)
	}

	t.Setenv("SKIFF_AGENT", "")
	t.Setenv("PATH", dir)
	if got, err := findAgent(); err != nil || got != agent {
		t.Errorf("PATH: %q, %v", got, err)
	}
	t.Setenv("PATH", t.TempDir())
	_, err := findAgent()
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "set SKIFF_AGENT") {
		t.Errorf("no agent: %v", err)
	}
}

func TestSeedImages(t *testing.T) {
	dir := t.TempDir()
	agent := filepath.Join(dir, "skiff-agent")
	os.WriteFile(agent, nil, 0o755)
	if got, err := seedImages(agent); err != nil || got != nil {
		t.Errorf("no images dir: %v, %v", got, err)
	}
	imgs := filepath.Join(dir, "images")
	os.Mkdir(imgs, 0o755)
	other := "arm64"
	if runtime.GOARCH == "arm64" {
		other = "amd64"
	}
	for _, n := range []string{"busybox-" + runtime.GOARCH + ".tar", "alpine-" + other + ".tar", "readme.txt", "z-" + runtime.GOARCH + ".tar", "-" + runtime.GOARCH + ".tar.gz"} {
		os.WriteFile(filepath.Join(imgs, n), nil, 0o644)
	}
	got, err := seedImages(agent)
	want := []string{filepath.Join(imgs, "busybox-"+runtime.GOARCH+".tar"), filepath.Join(imgs, "z-"+runtime.GOARCH+".tar")}
	if err != nil || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("seedImages = %v, %v; want %v", got, err, want)
	}
}

func fakeAgentBinary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	agent := filepath.Join(dir, "skiff-agent")
	os.WriteFile(agent, nil, 0o755)
	os.Mkdir(filepath.Join(dir, "images"), 0o755)
	os.WriteFile(filepath.Join(dir, "images", "busybox-"+runtime.GOARCH+".tar"), nil, 0o644)
	t.Setenv("SKIFF_AGENT", agent)
	return agent
}

func TestFirstCallStartsTheMachine(t *testing.T) {
	home := shortHome(t)
	d := useFakeDriver(t)
	agent := fakeAgentBinary(t)
	m, err := New(Options{Driver: "fake"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.Client(true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if len(d.starts) != 0 {
		t.Fatal("making a client started the machine")
	}
	for range 2 {
		if _, err := c.System.Version(context.Background(), &apiv1.Empty{}); err != nil {
			t.Fatal(err)
		}
	}
	if len(d.starts) != 1 {
		t.Fatalf("driver started %d times", len(d.starts))
	}
	s := d.starts[0]
	if s.AgentBinary != agent || len(s.SeedImages) != 1 || !strings.HasSuffix(s.SeedImages[0], "busybox-"+runtime.GOARCH+".tar") {
		t.Errorf("started with %+v", s)
	}
	st, err := os.Stat(filepath.Join(home, "machines", "default"))
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("machine dir: %v, %v", st.Mode(), err)
	}
	if got := m.Status(context.Background()); got != Running {
		t.Errorf("status = %s", got)
	}
}

func TestNoAutoStartSaysHowToStart(t *testing.T) {
	shortHome(t)
	d := useFakeDriver(t)
	m, _ := New(Options{Driver: "fake"})
	c, _ := m.Client(false)
	defer c.Close()
	_, err := c.System.Version(context.Background(), &apiv1.Empty{})
	if !errdefs.IsUnavailable(err) || err.Error() != `machine "default" is not running; start it with: skiff machine start` {
		t.Errorf("err = %v", err)
	}
	if len(d.starts) != 0 || m.Status(context.Background()) != Stopped {
		t.Error("the machine was started")
	}
}

func TestStopShutsDownFirst(t *testing.T) {
	shortHome(t)
	d := useFakeDriver(t)
	fakeAgentBinary(t)
	m, _ := New(Options{Driver: "fake"})
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := m.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d.agent.shutdowns != 1 || len(d.stops) != 1 || !d.stopHadDeadline {
		t.Errorf("shutdowns %d stops %d deadline %v", d.agent.shutdowns, len(d.stops), d.stopHadDeadline)
	}
	// Stopping a stopped machine still lets the driver clean up, at once.
	if err := m.Stop(context.Background()); err != nil || len(d.stops) != 2 || d.agent.shutdowns != 1 {
		t.Errorf("second stop: %v, stops %d", err, len(d.stops))
	}
}

func TestUnknownDriverListsKnownOnes(t *testing.T) {
	shortHome(t)
	useFakeDriver(t)
	fakeAgentBinary(t)
	m, _ := New(Options{Driver: "vz"})
	err := m.Start(context.Background())
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), `unknown machine driver "vz"`) || !strings.Contains(err.Error(), "fake") {
		t.Errorf("err = %v", err)
	}
}

// An error names the last boot's console lines only: those of a boot
// before say nothing of this one.
func TestConsoleTailLastBoot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "console.log")
	old := "2026-12-04T21:26:27Z skiff: booting machine \"default\" (tcg)\nold kernel line\nskiff-init: agent ended; powering off\n"
	if err := os.WriteFile(path, []byte(old+"2026-12-04T21:30:35Z skiff: booting machine \"default\" (tcg)\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := consoleTail(path, 5); got != "" {
		t.Errorf("a boot that printed nothing: %q", got)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString("Kernel panic - not syncing: VFS\n")
	f.Close()
	if got, want := consoleTail(path, 5), "; the machine's console ("+path+") ends:\n  Kernel panic - not syncing: VFS"; got != want {
		t.Errorf("consoleTail = %q, want %q", got, want)
	}
}

package native

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiffrun/skiff/platform"
)

// The test binary doubles as a fake skiff-agent: started with
// SKIFF_NATIVE_TEST_AGENT set, it records how it was started and then
// serves, fails, or ignores SIGTERM, as told.
func TestMain(m *testing.M) {
	if mode := os.Getenv("SKIFF_NATIVE_TEST_AGENT"); mode != "" {
		os.Exit(fakeAgent(mode))
	}
	os.Exit(m.Run())
}

func fakeAgent(mode string) int {
	stdin, _ := os.Readlink("/proc/self/fd/0")
	sid, _ := unix.Getsid(0)
	report := fmt.Sprintf("args=%s\nstdin=%s\nsession-leader=%v\n", strings.Join(os.Args[1:], " "), stdin, sid == os.Getpid())
	if err := os.WriteFile(os.Getenv("SKIFF_NATIVE_TEST_REPORT"), []byte(report), 0o600); err != nil {
		return 3
	}
	fmt.Println("fake agent starting")
	if mode == "fail" {
		fmt.Fprintln(os.Stderr, "fake agent: cannot open root: permission denied")
		return 1
	}
	if mode == "ignore-term" {
		signal.Ignore(syscall.SIGTERM)
	}
	var listen string
	for i, a := range os.Args {
		if a == "--listen" && i+1 < len(os.Args) {
			listen = strings.TrimPrefix(os.Args[i+1], "unix://")
		}
	}
	l, err := net.Listen("unix", listen)
	if err != nil {
		return 4
	}
	for {
		c, err := l.Accept()
		if err != nil {
			return 5
		}
		c.Close()
	}
}

func testSpec(t *testing.T, mode string) (platform.MachineSpec, string) {
	t.Helper()
	home, err := os.MkdirTemp("", "nat")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	dir := filepath.Join(home, "machines", "default")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(home, "report")
	t.Setenv("SKIFF_NATIVE_TEST_AGENT", mode)
	t.Setenv("SKIFF_NATIVE_TEST_REPORT", report)
	spec := platform.MachineSpec{
		Name: "default", Dir: dir, Driver: Name,
		AgentSocket: filepath.Join(dir, "skiff.sock"),
		AgentRoot:   filepath.Join(dir, "agent"),
		AgentBinary: exe,
		SeedImages:  []string{"/opt/images/busybox-amd64.tar", "/opt/images/alpine-amd64.tar"},
		Log:         filepath.Join(dir, "agent.log"),
		PIDFile:     filepath.Join(dir, "agent.pid"),
	}
	return spec, report
}

func pidOf(t *testing.T, spec platform.MachineSpec) int {
	t.Helper()
	b, err := os.ReadFile(spec.PIDFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestStartRunsTheAgentAsADaemon(t *testing.T) {
	spec, report := testSpec(t, "serve")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := (Driver{}).Start(ctx, spec); err != nil {
		t.Fatal(err)
	}
	pid := pidOf(t, spec)
	t.Cleanup(func() { unix.Kill(pid, unix.SIGKILL) })

	got, _ := os.ReadFile(report)
	want := fmt.Sprintf("args=serve --listen unix://%s --root %s --seed-image /opt/images/busybox-amd64.tar --seed-image /opt/images/alpine-amd64.tar\nstdin=/dev/null\nsession-leader=true\n", spec.AgentSocket, spec.AgentRoot)
	if string(got) != want {
		t.Errorf("agent saw:\n%s\nwant:\n%s", got, want)
	}
	if !answers(ctx, spec.AgentSocket) {
		t.Error("Start returned before the socket answered")
	}
	log, _ := os.ReadFile(spec.Log)
	if !strings.Contains(string(log), startMarker) || !strings.Contains(string(log), "fake agent starting") {
		t.Errorf("log = %q, want the start line and the agent's output", log)
	}
	for _, p := range []string{spec.Dir, spec.AgentRoot} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v", p, st.Mode(), err)
		}
	}

	// A second start finds it answering and starts nothing.
	if _, err := (Driver{}).Start(ctx, spec); err != nil || pidOf(t, spec) != pid {
		t.Errorf("second start: %v, pid %d → %d", err, pid, pidOf(t, spec))
	}

	// Stop with no time left for a graceful exit: SIGTERM ends it.
	expired, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := stop(expired, spec); err != nil {
		t.Fatal(err)
	}
	if isAgent(pid, spec) {
		t.Error("the agent survived Stop")
	}
	for _, p := range []string{spec.AgentSocket, spec.PIDFile} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left behind", p)
		}
	}
}

func TestStopFallsBackToSIGKILL(t *testing.T) {
	old := termGrace
	termGrace = 100 * time.Millisecond
	t.Cleanup(func() { termGrace = old })
	spec, _ := testSpec(t, "ignore-term")
	if _, err := (Driver{}).Start(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	pid := pidOf(t, spec)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := stop(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if isAgent(pid, spec) {
		t.Error("the agent survived SIGKILL")
	}
}

func TestStartReportsAnAgentThatDies(t *testing.T) {
	spec, _ := testSpec(t, "fail")
	_, err := (Driver{}).Start(context.Background(), spec)
	if err == nil || !strings.Contains(err.Error(), "cannot open root: permission denied") || !strings.Contains(err.Error(), spec.Log) {
		t.Errorf("err = %v, want the agent's last words and where its log is", err)
	}
	if _, err := os.Stat(spec.PIDFile); !os.IsNotExist(err) {
		t.Error("pid file left behind")
	}
}

func TestStopLeavesStrangersAlone(t *testing.T) {
	spec, _ := testSpec(t, "serve")
	os.MkdirAll(spec.Dir, 0o700)
	// A stale pid file naming this test process, which is no agent.
	os.WriteFile(spec.PIDFile, []byte(strconv.Itoa(os.Getpid())), 0o600)
	if err := stop(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(spec.PIDFile); !os.IsNotExist(err) {
		t.Error("stale pid file left behind")
	}
}

package machine

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/skiffrun/skiff/platform"
)

func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"default", true},
		{"dev-2.arm_64", true},
		{"", false},
		{"-x", false},
		{"a/b", false},
		{"..", false},
		{"white space", false},
		{strings.Repeat("a", maxNameLen), true},
		{strings.Repeat("a", maxNameLen+1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateName(tc.name)
			if (err == nil) != tc.ok {
				t.Fatalf("ValidateName(%q) = %v", tc.name, err)
			}
			if err != nil && !errdefs.IsInvalidArgument(err) {
				t.Errorf("not an invalid-argument error: %v", err)
			}
		})
	}
	if _, err := New(Options{Home: t.TempDir(), Name: "../etc", Driver: "fake"}); err == nil {
		t.Error("New accepted a name that leaves the machines folder")
	}
}

func newFake(t *testing.T, name string) *Machine {
	t.Helper()
	useFakeDriver(t)
	m, err := New(Options{Home: shortHome(t), Name: name, Driver: "fake"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSetValidatesAndPersists(t *testing.T) {
	m := newFake(t, "dev")
	if m.Exists() || !errdefs.IsNotFound(m.MustExist()) {
		t.Fatal("a machine never started or configured exists")
	}
	share := t.TempDir()
	if _, err := m.Set(Changes{CPUs: 4, MemoryMiB: 2048, Share: []Mount{{Path: share, ReadOnly: true}}}); err != nil {
		t.Fatal(err)
	}
	if err := m.MustExist(); err != nil {
		t.Fatal(err)
	}
	// A new Machine reads what the last one saved.
	again, _ := New(Options{Home: m.home, Name: "dev", Driver: "fake"})
	c, err := again.Config()
	if err != nil || c.CPUs != 4 || c.MemoryMiB != 2048 || len(c.Shares) != 1 || !c.Shares[0].ReadOnly {
		t.Fatalf("saved config = %+v, %v", c, err)
	}
	// Only the config itself is left: the atomic write's temp file is gone.
	entries, _ := os.ReadDir(m.spec.Dir)
	if len(entries) != 1 || entries[0].Name() != "config.json" {
		t.Errorf("machine dir holds %v", entries)
	}
	// A change leaves the other settings alone.
	if _, err := m.Set(Changes{CPUs: 2}); err != nil {
		t.Fatal(err)
	}
	if c, _ := m.Config(); c.CPUs != 2 || c.MemoryMiB != 2048 {
		t.Errorf("after --cpus 2: %+v", c)
	}

	for _, tc := range []struct {
		name  string
		ch    Changes
		check func(error) bool
		want  string
	}{
		{"too many cpus", Changes{CPUs: platform.MaxCPUs + 1}, errdefs.IsInvalidArgument, "CPUs"},
		{"too little memory", Changes{MemoryMiB: 16}, errdefs.IsInvalidArgument, "memory"},
		{"shrink the disk", Changes{DiskBytes: DefaultDiskSize / 2}, errdefs.IsInvalidArgument, "can only grow it"},
		{"unshare what is not shared", Changes{Unshare: []string{"/nowhere"}}, errdefs.IsNotFound, "is not a shared folder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := os.ReadFile(m.configPath())
			_, err := m.Set(tc.ch)
			if err == nil || !tc.check(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v", err)
			}
			if after, _ := os.ReadFile(m.configPath()); !bytes.Equal(before, after) {
				t.Error("a refused change was saved")
			}
		})
	}

	// The disk grows, and a disk file larger than the config counts.
	if _, err := m.Set(Changes{DiskBytes: 2 * DefaultDiskSize}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(m.diskPath(), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(m.diskPath(), 3*DefaultDiskSize); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Set(Changes{DiskBytes: 2 * DefaultDiskSize}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("shrinking below the disk file's size: %v", err)
	}
	if _, err := m.Set(Changes{Unshare: []string{share}}); err != nil {
		t.Fatal(err)
	}
	if c, _ := m.Config(); len(c.Shares) != 0 || c.DiskBytes != 2*DefaultDiskSize {
		t.Errorf("after unshare: %+v", c)
	}
}

// fakeVM is a VM driver (not Detached): host/machine runs a host daemon
// for it. Tests never start one.
type fakeVM struct{}

func (fakeVM) Start(context.Context, platform.MachineSpec) (platform.Machine, error) {
	return nil, errors.New("fakevm starts nothing")
}

func TestStaleDaemonFilesAreRecovered(t *testing.T) {
	useFakeDriver(t)
	vmOnce.Do(func() { platform.Register("fakevm", fakeVM{}) })
	m, err := New(Options{Home: shortHome(t), Name: "crashed", Driver: "fakevm"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(m.spec.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// What a host crash leaves: the daemon's pid (now a dead process's, or
	// a stranger's), its socket file with no one listening, and a state
	// that says running.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", m.spec.AgentSocket)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	m.writeState(state{Status: Running, PID: dead.Process.Pid, Accel: "tcg", CPUs: 2})
	for _, pid := range []int{dead.Process.Pid, os.Getpid()} {
		if err := os.WriteFile(m.daemonPIDFile(), []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, alive := m.daemonPID(); alive {
			t.Fatalf("pid %d taken for the machine's daemon", pid)
		}
	}
	if st, detail := m.Describe(context.Background()); st != Error || !strings.Contains(detail, "exited unexpectedly") {
		t.Errorf("status after the crash = %s, %q", st, detail)
	}
	// Stop (which a start's clean-up shares) clears what is left.
	if err := m.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{m.spec.AgentSocket, m.daemonPIDFile()} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s left", p)
		}
	}
	if st := m.readState(); st.Status != Stopped || st.Accel != "tcg" || st.CPUs != 2 {
		t.Errorf("state after recovery = %+v", st)
	}
	// And the machine can be removed.
	if err := m.Remove(context.Background(), false); err != nil || m.Exists() {
		t.Errorf("remove: %v, exists %v", err, m.Exists())
	}
}

func TestRemoveRefusesARunningMachine(t *testing.T) {
	m := newFake(t, "default")
	fakeAgentBinary(t)
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := m.Remove(context.Background(), false)
	if !errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "rm -f") || !m.Exists() {
		t.Fatalf("rm of a running machine: %v", err)
	}
	if err := m.Remove(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if m.Exists() || len(driver.stops) != 1 {
		t.Errorf("after rm -f: exists %v, stops %d", m.Exists(), len(driver.stops))
	}
	if err := m.Remove(context.Background(), true); !errdefs.IsNotFound(err) {
		t.Errorf("rm of a removed machine: %v", err)
	}
}

func TestDiskUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.img")
	if a, s, err := DiskUse(path); a != 0 || s != 0 || err != nil {
		t.Errorf("no disk: %d %d %v", a, s, err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{1}, 1<<20), 4<<20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	a, s, err := DiskUse(path)
	if err != nil || s != 1<<30 {
		t.Fatalf("DiskUse = %d, %d, %v", a, s, err)
	}
	// The sparse file takes what was written, not its size.
	if a < 1<<20 || a > 2<<20 {
		t.Errorf("allocated = %d, want about 1MiB", a)
	}
}

func TestListFindsEveryMachine(t *testing.T) {
	m := newFake(t, "b")
	if _, err := m.Set(Changes{CPUs: 3}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"a", ".hidden-not-a-name", "-bad"} {
		if err := os.MkdirAll(filepath.Join(m.home, "machines", d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("SKIFF_DRIVER", "fake")
	infos, err := List(context.Background(), m.home)
	if err != nil || len(infos) != 2 || infos[0].Name != "a" || infos[1].Name != "b" || infos[1].State != Stopped {
		t.Fatalf("List = %+v, %v", infos, err)
	}
}

func TestLogsTail(t *testing.T) {
	m := newFake(t, "default")
	if err := os.MkdirAll(m.spec.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(m.consoleLog(), []byte("one\ntwo\nthree\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(m.daemonLog(), []byte("daemon\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		o    LogsOptions
		want string
	}{
		{"all", LogsOptions{Tail: -1}, "one\ntwo\nthree\n"},
		{"last two", LogsOptions{Tail: 2}, "two\nthree\n"},
		{"none", LogsOptions{Tail: 0}, ""},
		{"daemon", LogsOptions{Tail: -1, Daemon: true}, "daemon\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := m.Logs(context.Background(), &b, tc.o); err != nil || b.String() != tc.want {
				t.Errorf("logs = %q, %v", b.String(), err)
			}
		})
	}
}

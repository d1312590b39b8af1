//go:build e2e

package main_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperFailWithin bounds how long a machine start may take to report a
// helper that died at start (the VM start timeout is minutes).
const helperFailWithin = 30 * time.Second

// TestMachineUnprivileged runs skiff as an ordinary user the test makes:
// the QEMU machine starts, a file a container running as uid 1234 makes
// in a bind mount belongs to that user on the host, the container's root
// writes the user's 0600 file, and a QEMU that fails at start (a bad
// binary, a share QEMU cannot open) is reported at once in its own words.
func TestMachineUnprivileged(t *testing.T) {
	m := startUnprivileged(t)
	u, root, home, skiffHome, run, vm := m.user, m.root, m.home, m.skiffHome, m.run(t), m.vm(t)
	if pid := qemuPID(t, skiffHome); procUID(t, pid) != u.uid {
		t.Errorf("QEMU (pid %d) runs as uid %d, not as the user %d", pid, procUID(t, pid), u.uid)
	}

	// A folder of the user's, open to the container's uid 1234 (as it
	// must be on any Linux), and a file only the user may read.
	proj := u.dir(t, filepath.Join(home, "proj"), 0o777)
	secret := filepath.Join(proj, "secret")
	u.file(t, secret, "from the host\n", 0o600)

	r := vm("run", "--rm", "-u", "1234:1234", "-v", proj+":/w", busybox, "sh", "-c",
		"id -u; echo made > /w/by1234 && mkdir /w/dir1234 && echo ok")
	if r.code != 0 || !strings.Contains(r.stdout, "1234\n") || !strings.Contains(r.stdout, "ok") {
		t.Fatalf("a container as uid 1234 writing the bind mount: %s", r)
	}
	for _, p := range []string{"by1234", "dir1234"} {
		if uid, gid := owner(t, filepath.Join(proj, p)); uid != u.uid || gid != u.gid {
			t.Errorf("%s, made by the container's uid 1234, is owned by %d:%d on the host, want the user's %d:%d", p, uid, gid, u.uid, u.gid)
		}
	}

	r = vm("run", "--rm", "-v", proj+":/w", busybox, "sh", "-c",
		"echo from the container >> /w/secret && cat /w/secret && echo root made > /w/byroot")
	if r.code != 0 || r.stdout != "from the host\nfrom the container\n" {
		t.Fatalf("the container's root writing the user's 0600 file: %s", r)
	}
	if b, _ := os.ReadFile(secret); string(b) != "from the host\nfrom the container\n" {
		t.Errorf("the host's file after the container wrote it: %q", b)
	}
	if st, err := os.Stat(secret); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the host's 0600 file after the container wrote it: %v %v", st.Mode(), err)
	}
	if uid, _ := owner(t, filepath.Join(proj, "byroot")); uid != u.uid {
		t.Errorf("a file the container's root made is owned by uid %d on the host, want the user's %d", uid, u.uid)
	}

	// A published port: the user's host daemon listens on it.
	port := freePort(t)
	u.file(t, filepath.Join(proj, "index.html"), "served from the bind mount\n", 0o644)
	if r := vm("run", "-d", "--name", "web", "-p", fmt.Sprintf("%d:80", port), "-v", proj+":/www", busybox, "busybox", "httpd", "-f", "-p", "80", "-h", "/www"); r.code != 0 {
		t.Fatalf("run -p as the user: %s", r)
	}
	eventually(t, 30*time.Second, "the published port to answer", func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b) == "served from the bind mount\n"
	})
	vm("rm", "-f", "web")
	if start, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start"); err == nil && strings.TrimSpace(string(start)) == "1024" {
		r := vm("run", "--rm", "-p", "80:80", busybox, "true")
		if r.code != 125 || !strings.Contains(r.stderr, "ports below 1024 need root here; publish on 1024 or above (-p 8080:80)") {
			t.Errorf("run -p 80:80 as the user: %s", r)
		}
	}

	if r := vm("machine", "stop"); r.code != 0 {
		t.Fatalf("machine stop: %s", r)
	}

	t.Run("bad QEMU", func(t *testing.T) {
		fake := filepath.Join(root, "fake-qemu")
		u.file(t, fake, "#!/bin/sh\necho starting\necho 'qemu-system: the test broke this QEMU' >&2\nexit 1\n", 0o755)
		began := time.Now()
		r := run(time.Minute, []string{"SKIFF_QEMU=" + fake}, "machine", "start")
		took := time.Since(began)
		if r.code == 0 || !strings.Contains(r.stderr, "qemu exited: exit status 1: qemu-system: the test broke this QEMU") {
			t.Fatalf("start with a QEMU that fails: %s", r)
		}
		if took > helperFailWithin {
			t.Errorf("the failed QEMU was reported after %v", took)
		}
	})

	t.Run("share QEMU cannot open", func(t *testing.T) {
		// Root's own folder, which the user can see but not open.
		locked := filepath.Join(home, "locked")
		if err := os.Mkdir(locked, 0o700); err != nil {
			t.Fatal(err)
		}
		if r := vm("machine", "set", "--share", locked); r.code != 0 {
			t.Fatalf("machine set --share: %s", r)
		}
		t.Cleanup(func() { vm("machine", "set", "--unshare", locked) })
		began := time.Now()
		r := run(time.Minute, nil, "machine", "start")
		took := time.Since(began)
		if r.code == 0 || !strings.Contains(r.stderr, "failed to open '"+locked+"': Permission denied") {
			t.Fatalf("start with a share QEMU cannot open: %s", r)
		}
		if took > helperFailWithin {
			t.Errorf("the failed QEMU was reported after %v", took)
		}
	})
}

// unprivMachine is a QEMU machine an ordinary user started, with skiff
// and the guest image copied where the user can read them.
type unprivMachine struct {
	user                       *testUser
	root, bin, home, skiffHome string
}

// run runs the user's skiff, with extra in its environment.
func (m *unprivMachine) run(t *testing.T) func(timeout time.Duration, extra []string, args ...string) result {
	return func(timeout time.Duration, extra []string, args ...string) result {
		t.Helper()
		return m.user.run(t, m.bin, timeout, extra, args...)
	}
}

// startUnprivileged makes a user and starts the machine as that user;
// the machine is stopped, and nothing of it left, when the test ends.
func startUnprivileged(t *testing.T) *unprivMachine {
	t.Helper()
	needMachine(t)
	u := newUser(t)
	m := &unprivMachine{user: u}
	m.root = u.dir(t, "root", 0o755)
	m.bin = u.binCopy(t, m.root)
	m.home = u.dir(t, filepath.Join(m.root, "home"), 0o755)
	tmp := u.dir(t, filepath.Join(m.root, "tmp"), 0o755)
	m.skiffHome = u.dir(t, filepath.Join(m.root, "skiff"), 0o700)
	u.env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + m.home, "TMPDIR=" + tmp, "USER=" + u.name,
		"SKIFF_HOME=" + m.skiffHome, "SKIFF_DRIVER=qemu",
	}
	vm := m.vm(t)
	t.Cleanup(func() {
		if r := vm("machine", "stop"); r.code != 0 {
			t.Errorf("machine stop: %s", r)
		}
		if t.Failed() {
			for _, f := range []string{"console.log", "qemu.log", "daemon.log"} {
				if data, err := os.ReadFile(filepath.Join(m.skiffHome, "machines", "default", f)); err == nil {
					t.Logf("%s:\n%s", f, lastLines(string(data), 30))
				}
			}
		}
		noProcessesOf(t, m.skiffHome)
	})
	start := time.Now()
	if r := vm("machine", "start", "--memory", "1g"); r.code != 0 || !strings.Contains(r.stderr, "ready in") {
		t.Fatalf("machine start as %s (uid %d): %s", u.name, u.uid, r)
	}
	t.Logf("machine start as uid %d took %v", u.uid, time.Since(start).Round(time.Millisecond))
	if r := vm("machine", "status", "--format", "{{.State}}"); strings.TrimSpace(r.stdout) != "running" {
		t.Fatalf("status: %s", r)
	}
	return m
}

// vm runs the user's skiff with a timeout a machine start needs.
func (m *unprivMachine) vm(t *testing.T) func(args ...string) result {
	run := m.run(t)
	return func(args ...string) result {
		t.Helper()
		return run(5*time.Minute, nil, args...)
	}
}

// TestMachineVirtiofsdFails starts a machine as root with a virtiofsd
// that dies at start: the start fails at once with its last line.
func TestMachineVirtiofsdFails(t *testing.T) {
	needMachine(t)
	home := t.TempDir()
	fake := filepath.Join(home, "fake-virtiofsd")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho 'virtiofsd: setgroups() failed, as the test wants' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	environ := append(os.Environ(), "SKIFF_HOME="+home, "SKIFF_DRIVER=qemu", "SKIFF_VIRTIOFSD="+fake)
	t.Cleanup(func() { runSkiff(t, environ, time.Minute, "", "machine", "stop") })
	began := time.Now()
	r := runSkiff(t, environ, 5*time.Minute, "", "machine", "start")
	took := time.Since(began)
	if r.code == 0 || !strings.Contains(r.stderr, "exited: exit status 1: virtiofsd: setgroups() failed, as the test wants") {
		t.Fatalf("start with a virtiofsd that fails: %s", r)
	}
	if took > helperFailWithin {
		t.Errorf("the failed virtiofsd was reported after %v", took)
	}
}

// needMachine fails the test unless QEMU and the guest image are there.
func needMachine(t *testing.T) {
	t.Helper()
	qemu := "qemu-system-x86_64"
	if runtime.GOARCH == "arm64" {
		qemu = "qemu-system-aarch64"
	}
	if _, err := exec.LookPath(qemu); err != nil {
		unmet(t, "%s is not installed", qemu)
	}
	if _, err := os.Stat(filepath.Join(binDir, "vmimage", runtime.GOARCH, "manifest.json")); err != nil {
		unmet(t, "no guest image next to skiff (make vmimage && make build)")
	}
}

// testUser is an ordinary user made for one test and removed after it.
type testUser struct {
	name     string
	uid, gid int
	env      []string
}

func newUser(t *testing.T) *testUser {
	t.Helper()
	if _, err := exec.LookPath("useradd"); err != nil {
		unmet(t, "useradd is not installed: the test makes an ordinary user to run skiff as")
	}
	name := fmt.Sprintf("skiffe2e%d", os.Getpid()%1000000)
	out, err := exec.Command("useradd", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "--user-group", name).CombinedOutput()
	if err != nil {
		unmet(t, "useradd %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		// A process of the user's left behind would keep userdel from
		// working; noProcessesOf reports it.
		if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v: %s", name, err, out)
		}
	})
	lu, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	u := &testUser{name: name}
	u.uid, _ = strconv.Atoi(lu.Uid)
	u.gid, _ = strconv.Atoi(lu.Gid)
	return u
}

// dir makes a folder the user owns, with mode; a relative path is made in
// the temp folder and removed after the test.
func (u *testUser) dir(t *testing.T, path string, mode os.FileMode) string {
	t.Helper()
	if !filepath.IsAbs(path) {
		d, err := os.MkdirTemp("", "skiff-unpriv-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		path = d
	} else if err := os.Mkdir(path, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, u.uid, u.gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// file writes a file the user owns.
func (u *testUser) file(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, u.uid, u.gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// binCopy copies skiff and the guest image where the user can read them
// (the build folder may lie under one only root may enter).
func (u *testUser) binCopy(t *testing.T, root string) string {
	t.Helper()
	bin := filepath.Join(root, "bin")
	img := filepath.Join("vmimage", runtime.GOARCH)
	if err := os.MkdirAll(filepath.Join(bin, img), 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile := func(rel string, mode os.FileMode) {
		src, err := os.Open(filepath.Join(binDir, rel))
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		dst, err := os.OpenFile(filepath.Join(bin, rel), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(dst, src); err != nil {
			t.Fatal(err)
		}
		if err := dst.Close(); err != nil {
			t.Fatal(err)
		}
	}
	copyFile("skiff", 0o755)
	entries, err := os.ReadDir(filepath.Join(binDir, img))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			copyFile(filepath.Join(img, e.Name()), 0o644)
		}
	}
	return bin
}

// run runs bin's skiff as the user, in the user's environment plus extra.
func (u *testUser) run(t *testing.T, bin string, timeout time.Duration, extra []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := u.command(ctx, bin, extra, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("skiff %v as %s: %v", args, u.name, err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// command is bin's skiff as the user, in the user's environment plus
// extra, not started.
func (u *testUser) command(ctx context.Context, bin string, extra []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "skiff"), args...)
	cmd.Env = append(append([]string{}, u.env...), extra...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.uid), Gid: uint32(u.gid)}}
	return cmd
}

func owner(t *testing.T, path string) (uid, gid int) {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	return int(sys.Uid), int(sys.Gid)
}

// procUID is the real uid process pid runs as.
func procUID(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" {
			uid, _ := strconv.Atoi(f[1])
			return uid
		}
	}
	t.Fatalf("no Uid line in /proc/%d/status", pid)
	return -1
}

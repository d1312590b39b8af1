//go:build e2e

package main_test

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

func TestRunOutputAndExitCode(t *testing.T) {
	r := skiff(t, "run", "--rm", busybox, "sh", "-c", "echo hi; echo err >&2; exit 7")
	if r.code != 7 || r.stdout != "hi\n" || r.stderr != "err\n" {
		t.Fatalf("want exit 7, hi on stdout, err on stderr; got %s", r)
	}
	if out := must(t, "ps", "-a", "-q"); out != "" {
		t.Fatalf("--rm left containers: %q", out)
	}
}

func TestRunEnvWorkdirUser(t *testing.T) {
	envFile := filepath.Join(t.TempDir(), "env")
	os.WriteFile(envFile, []byte("# a comment\nFROM_FILE=yes\n"), 0o644)
	r := skiff(t, "run", "--rm", "-e", "FOO=bar", "--env-file", envFile, "-w", "/work/dir", "-u", "1000:1000",
		"--hostname", "boat", busybox, "sh", "-c", `echo $FOO $FROM_FILE; pwd; id -u; id -g; hostname; cat /etc/hostname`)
	want := "bar yes\n/work/dir\n1000\n1000\nboat\nboat\n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("want %q; got %s", want, r)
	}
	// A user name is resolved in the image's /etc/passwd.
	if out := must(t, "run", "--rm", "-u", "nobody", busybox, "id", "-u"); out != "65534" {
		t.Fatalf("-u nobody: uid %q, want 65534", out)
	}
}

func TestRunEntrypoint(t *testing.T) {
	if out := must(t, "run", "--rm", "--entrypoint", "echo", busybox, "from", "entrypoint"); out != "from entrypoint" {
		t.Fatalf("--entrypoint echo: %q", out)
	}
}

func TestRunStdin(t *testing.T) {
	r := skiffIn(t, "hello\nworld\n", "run", "-i", "--rm", busybox, "sh", "-c", "cat; echo done")
	if r.code != 0 || r.stdout != "hello\nworld\ndone\n" {
		t.Fatalf("stdin: %s", r)
	}
	// Without -i the container's stdin is empty.
	r = skiffIn(t, "ignored\n", "run", "--rm", busybox, "cat")
	if r.code != 0 || r.stdout != "" {
		t.Fatalf("stdin without -i: %s", r)
	}
}

func TestRunTTY(t *testing.T) {
	cmd := exec.Command(filepath.Join(binDir, "skiff"), "run", "-it", "--rm", busybox, "sh")
	cmd.Env = env()
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 33, Cols: 101})
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	var out syncBuffer
	go io.Copy(&out, ptmx)
	waitFor(t, &out, "# ", "the shell prompt")
	ptmx.Write([]byte("stty size; echo $((6*7)); tty\r"))
	waitFor(t, &out, "42", "the shell's answer")
	waitFor(t, &out, "/dev/pts/", "a pty in the container")
	if !strings.Contains(out.String(), "33 101") {
		t.Errorf("terminal size not passed on: %q", out.String())
	}
	// A resize of the host terminal reaches the container.
	pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 120})
	time.Sleep(300 * time.Millisecond)
	ptmx.Write([]byte("stty size\r"))
	waitFor(t, &out, "40 120", "the new terminal size")
	ptmx.Write([]byte("exit 3\r"))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
			t.Fatalf("exit: %v, want code 3; output %q", err, out.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("skiff run -it did not end; output %q", out.String())
	}
}

func TestDetachKeys(t *testing.T) {
	name := "e2e-detach"
	cleanup(t, name)
	cmd := exec.Command(filepath.Join(binDir, "skiff"), "run", "-it", "--name", name, busybox, "sh")
	cmd.Env = env()
	ptmx, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	var out syncBuffer
	go io.Copy(&out, ptmx)
	waitFor(t, &out, "# ", "the shell prompt")
	ptmx.Write([]byte{0x10, 0x11}) // ctrl-p ctrl-q
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("detach: %v", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("ctrl-p ctrl-q did not detach")
	}
	if st := must(t, "inspect", "--format", "{{.State.Status}}", name); st != "running" {
		t.Fatalf("after detach the container is %s, want running", st)
	}
	// exec -it gets a terminal of its own, with the caller's size.
	ecmd := exec.Command(filepath.Join(binDir, "skiff"), "exec", "-it", name, "sh", "-c", "tty; stty size; exit 6")
	ecmd.Env = env()
	eptmx, err := pty.StartWithSize(ecmd, &pty.Winsize{Rows: 21, Cols: 77})
	if err != nil {
		t.Fatal(err)
	}
	var eout syncBuffer
	go io.Copy(&eout, eptmx)
	err = ecmd.Wait()
	eptmx.Close()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 6 {
		t.Fatalf("exec -it: %v, want exit 6; output %q", err, eout.String())
	}
	waitFor(t, &eout, "21 77", "the exec's terminal size")
	if !strings.Contains(eout.String(), "/dev/pts/") {
		t.Fatalf("exec -it has no pty: %q", eout.String())
	}

	// attach again, and end the shell.
	cmd = exec.Command(filepath.Join(binDir, "skiff"), "attach", name)
	cmd.Env = env()
	ptmx2, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx2.Close()
	go io.Copy(io.Discard, ptmx2)
	time.Sleep(300 * time.Millisecond)
	ptmx2.Write([]byte("exit 5\r"))
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 5 {
		t.Fatalf("attach: %v, want exit 5", err)
	}
}

func TestDetachedLogsAndExec(t *testing.T) {
	name := "e2e-logs"
	cleanup(t, name)
	id := must(t, "run", "-d", "--name", name, busybox, "sh", "-c", "echo out1; echo err1 >&2; sleep 1; echo out2; sleep 300")
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(id) {
		t.Fatalf("run -d printed %q, want a container id", id)
	}
	eventually(t, 10*time.Second, "both lines in the logs", func() bool {
		return strings.Contains(skiff(t, "logs", name).stdout, "out2")
	})
	r := skiff(t, "logs", name)
	if r.stdout != "out1\nout2\n" || r.stderr != "err1\n" {
		t.Fatalf("logs: %s", r)
	}
	if out := must(t, "logs", "--tail", "1", name); out != "out2" {
		t.Fatalf("logs --tail 1: %q", out)
	}
	if out := must(t, "logs", "-t", "--tail", "1", name); !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z out2$`).MatchString(out) {
		t.Fatalf("logs -t: %q", out)
	}
	if out := must(t, "ps", "--filter", "name="+name, "--format", "{{.Names}} {{.Status}}"); !strings.HasPrefix(out, name+" Up ") {
		t.Fatalf("ps: %q", out)
	}
	// exec, with env, workdir and user, in the running container.
	r = skiff(t, "exec", "-e", "X=1", "-w", "/tmp", "-u", "1000", name, "sh", "-c", "echo $X $(pwd) $(id -u); exit 4")
	if r.code != 4 || r.stdout != "1 /tmp 1000\n" {
		t.Fatalf("exec: %s", r)
	}
	if r := skiffIn(t, "piped\n", "exec", "-i", name, "cat"); r.stdout != "piped\n" {
		t.Fatalf("exec -i: %s", r)
	}
	// top lists the container's processes.
	if out := must(t, "top", name); !strings.Contains(out, "sleep 300") {
		t.Fatalf("top: %q", out)
	}
	// logs -f follows until the container stops.
	follow := exec.Command(filepath.Join(binDir, "skiff"), "logs", "-f", "--tail", "0", name)
	follow.Env = env()
	var fout syncBuffer
	follow.Stdout = &fout
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	must(t, "exec", name, "sh", "-c", "echo followed > /proc/1/fd/1")
	eventually(t, 10*time.Second, "logs -f to show new output", func() bool { return strings.Contains(fout.String(), "followed") })
	must(t, "stop", "-t", "1", name)
	fdone := make(chan error, 1)
	go func() { fdone <- follow.Wait() }()
	select {
	case <-fdone:
	case <-time.After(10 * time.Second):
		follow.Process.Kill()
		t.Fatal("logs -f did not end when the container stopped")
	}
	// The logs outlive the run.
	if out := must(t, "logs", name); !strings.Contains(out, "followed") {
		t.Fatalf("logs after stop: %q", out)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func waitFor(t *testing.T, b *syncBuffer, s, what string) {
	t.Helper()
	eventually(t, 20*time.Second, what+" ("+s+") in "+strings.ReplaceAll(b.String(), "\r", ""), func() bool {
		return strings.Contains(b.String(), s)
	})
}

//go:build e2e

package main_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestStopSignalThenKill(t *testing.T) {
	// PID 1 ignores SIGTERM unless it handles it: stop must fall back to
	// SIGKILL after the timeout.
	name := "e2e-stop-stubborn"
	cleanup(t, name)
	must(t, "run", "-d", "--name", name, busybox, "sleep", "300")
	start := time.Now()
	must(t, "stop", "-t", "2", name)
	took := time.Since(start)
	if took < 2*time.Second || took > 8*time.Second {
		t.Fatalf("stop -t 2 took %v, want about 2s", took)
	}
	if code := must(t, "inspect", "--format", "{{.State.ExitCode}}", name); code != "137" {
		t.Fatalf("exit code after SIGKILL %s, want 137", code)
	}

	// A container that handles SIGTERM stops at once.
	polite := "e2e-stop-polite"
	cleanup(t, polite)
	must(t, "run", "-d", "--name", polite, busybox, "sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done")
	time.Sleep(300 * time.Millisecond)
	start = time.Now()
	must(t, "stop", polite)
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("stop of a container that handles SIGTERM took %v", took)
	}
	if code := must(t, "inspect", "--format", "{{.State.ExitCode}}", polite); code != "0" {
		t.Fatalf("exit code %s, want 0", code)
	}
}

func TestKillWaitRestartRename(t *testing.T) {
	name := "e2e-kill"
	cleanup(t, name, "e2e-kill-renamed")
	must(t, "run", "-d", "--name", name, busybox, "sh", "-c", "trap 'echo got usr1' USR1; while :; do sleep 0.1; done")
	time.Sleep(300 * time.Millisecond)
	must(t, "kill", "-s", "USR1", name)
	eventually(t, 5*time.Second, "the trap to run", func() bool {
		return strings.Contains(skiff(t, "logs", name).stdout, "got usr1")
	})
	waitDone := make(chan result, 1)
	go func() { waitDone <- skiff(t, "wait", name) }()
	time.Sleep(200 * time.Millisecond)
	must(t, "kill", name)
	select {
	case r := <-waitDone:
		if strings.TrimSpace(r.stdout) != "137" {
			t.Fatalf("wait printed %s", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("wait did not return after kill")
	}
	must(t, "restart", name)
	if st := must(t, "inspect", "--format", "{{.State.Status}}", name); st != "running" {
		t.Fatalf("after restart: %s", st)
	}
	must(t, "rename", name, "e2e-kill-renamed")
	if r := skiff(t, "inspect", name); r.code == 0 {
		t.Fatalf("old name still answers: %s", r)
	}
	must(t, "inspect", "e2e-kill-renamed")
	// rm of a running container needs -f.
	if r := skiff(t, "rm", "e2e-kill-renamed"); r.code == 0 || !strings.Contains(r.stderr, "stop") {
		t.Fatalf("rm of a running container: %s", r)
	}
	id := must(t, "inspect", "--format", "{{.Id}}", "e2e-kill-renamed")
	must(t, "rm", "-f", "e2e-kill-renamed")
	assertGone(t, id)
}

func TestCreateStartAttach(t *testing.T) {
	name := "e2e-create"
	cleanup(t, name)
	must(t, "create", "--name", name, busybox, "sh", "-c", "echo started; exit 2")
	if st := must(t, "inspect", "--format", "{{.State.Status}}", name); st != "created" {
		t.Fatalf("after create: %s", st)
	}
	r := skiff(t, "start", "-a", name)
	if r.code != 2 || r.stdout != "started\n" {
		t.Fatalf("start -a: %s", r)
	}
	if out := must(t, "ps", "-a", "--filter", "status=exited", "--filter", "name="+name, "--format", "{{.Status}}"); !strings.HasPrefix(out, "Exited (2)") {
		t.Fatalf("ps status: %q", out)
	}
	must(t, "container", "prune", "-f")
	if r := skiff(t, "inspect", name); r.code == 0 {
		t.Fatal("prune left the exited container")
	}
}

func restartCount(t *testing.T, name string) int {
	t.Helper()
	n, _ := strconv.Atoi(strings.TrimSpace(skiff(t, "inspect", "--format", "{{.RestartCount}}", name).stdout))
	return n
}

func TestRestartPolicies(t *testing.T) {
	t.Run("no", func(t *testing.T) {
		cleanup(t, "e2e-rp-no")
		must(t, "run", "-d", "--name", "e2e-rp-no", "--restart", "no", busybox, "sh", "-c", "exit 1")
		time.Sleep(1500 * time.Millisecond)
		if n := restartCount(t, "e2e-rp-no"); n != 0 {
			t.Fatalf("restarted %d times", n)
		}
	})
	t.Run("on-failure with a maximum", func(t *testing.T) {
		cleanup(t, "e2e-rp-fail")
		must(t, "run", "-d", "--name", "e2e-rp-fail", "--restart", "on-failure:2", busybox, "sh", "-c", "echo run; exit 3")
		eventually(t, 15*time.Second, "two restarts", func() bool { return restartCount(t, "e2e-rp-fail") == 2 })
		time.Sleep(1500 * time.Millisecond)
		if n := restartCount(t, "e2e-rp-fail"); n != 2 {
			t.Fatalf("restarted %d times, want 2", n)
		}
		if st := must(t, "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "e2e-rp-fail"); st != "exited 3" {
			t.Fatalf("state %q, want exited 3", st)
		}
		if out := must(t, "logs", "e2e-rp-fail"); out != "run\nrun\nrun" {
			t.Fatalf("logs across restarts: %q", out)
		}
	})
	t.Run("on-failure ignores success", func(t *testing.T) {
		cleanup(t, "e2e-rp-ok")
		must(t, "run", "-d", "--name", "e2e-rp-ok", "--restart", "on-failure", busybox, "true")
		time.Sleep(1500 * time.Millisecond)
		if n := restartCount(t, "e2e-rp-ok"); n != 0 {
			t.Fatalf("restarted %d times", n)
		}
	})
	t.Run("always with growing back-off", func(t *testing.T) {
		cleanup(t, "e2e-rp-always")
		must(t, "run", "-d", "--name", "e2e-rp-always", "--restart", "always", busybox, "true")
		// 100, 200, 400, 800 ms...: about 4 restarts in 2 s, not dozens
		// (fewer where starts are slow, as in an emulated machine).
		time.Sleep(2 * time.Second)
		if n := restartCount(t, "e2e-rp-always"); n > 8 {
			t.Fatalf("restarted %d times in 2s; the back-off should allow about 4", n)
		}
		eventually(t, 15*time.Second, "the container to restart twice", func() bool { return restartCount(t, "e2e-rp-always") >= 2 })
		// stop keeps it down.
		must(t, "stop", "e2e-rp-always")
		n := restartCount(t, "e2e-rp-always")
		time.Sleep(1500 * time.Millisecond)
		if m := restartCount(t, "e2e-rp-always"); m != n {
			t.Fatalf("a stopped always container restarted (%d → %d)", n, m)
		}
	})
}

// TestAgentKilledAndStartedAgain kills the agent with SIGKILL while
// containers run, and checks that the next command finds every container
// with its logs and state, that always and unless-stopped containers come
// back, and that nothing half-written is left.
func TestAgentKilledAndStartedAgain(t *testing.T) {
	if driver() != "native" {
		t.Skip("kills the native agent's process; in a machine the agent is PID 1")
	}
	cleanup(t, "e2e-k-always", "e2e-k-unless", "e2e-k-no", "e2e-k-exited")
	must(t, "run", "-d", "--name", "e2e-k-always", "--restart", "always", busybox, "sh", "-c", "echo boot; sleep 300")
	must(t, "run", "-d", "--name", "e2e-k-unless", "--restart", "unless-stopped", busybox, "sh", "-c", "echo boot; sleep 300")
	must(t, "run", "-d", "--name", "e2e-k-no", busybox, "sh", "-c", "echo plain; sleep 300")
	if r := skiff(t, "run", "--name", "e2e-k-exited", busybox, "sh", "-c", "echo finished; exit 4"); r.code != 4 {
		t.Fatalf("run: %s", r)
	}
	eventually(t, 10*time.Second, "the containers' output", func() bool {
		return strings.Contains(skiff(t, "logs", "e2e-k-no").stdout, "plain")
	})

	pidFile := filepath.Join(skiffHome, "machines", "default", "agent.pid")
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("agent pid file: %v", err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill agent %d: %v", pid, err)
	}
	eventually(t, 5*time.Second, "the agent to die", func() bool { return syscall.Kill(pid, 0) != nil })

	// The next command starts the agent again.
	out := must(t, "ps", "-a", "--format", "{{.Names}}")
	for _, n := range []string{"e2e-k-always", "e2e-k-unless", "e2e-k-no", "e2e-k-exited"} {
		if !strings.Contains(out, n) {
			t.Errorf("%s missing after the agent restarted: %q", n, out)
		}
	}
	for _, n := range []string{"e2e-k-always", "e2e-k-unless"} {
		eventually(t, 10*time.Second, n+" to come back", func() bool {
			return must(t, "inspect", "--format", "{{.State.Status}}", n) == "running"
		})
	}
	if st := must(t, "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "e2e-k-no"); st != "exited 255" {
		t.Errorf("a container without policy is %q after the agent died, want exited 255", st)
	}
	if st := must(t, "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "e2e-k-exited"); st != "exited 4" {
		t.Errorf("an exited container is %q, want exited 4", st)
	}
	if out := must(t, "logs", "e2e-k-exited"); out != "finished" {
		t.Errorf("logs of the exited container: %q", out)
	}
	if out := must(t, "logs", "e2e-k-no"); out != "plain" {
		t.Errorf("logs of the killed container: %q", out)
	}
	// Nothing half-written: no temp files anywhere in the agent's state.
	root := filepath.Join(skiffHome, "machines", "default", "agent")
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && strings.HasPrefix(info.Name(), ".tmp-") {
			t.Errorf("temp file left: %s", p)
		}
		return nil
	})
}

//go:build e2e

package main_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/go-units"
)

// File events run natively (the container shares the host's kernel) and,
// with SKIFF_E2E_DRIVER=qemu, in the machine, where the host daemon
// watches the bind-mounted folder and the agent replays each change
// (guest/fsevents): the same inotify watcher must hear of each change.

// eventDeadline is how soon after a change on the host a container's
// watcher must hear of it.
const eventDeadline = time.Second

// agentMemoryGrowth bounds how much the agent's resident memory may grow
// through a storm of 10,000 changes: it holds one batch of at most 1,024
// events and a 256 KiB flow-control window of them at a time; the rest
// is room for Go's heap.
const agentMemoryGrowth = 32 << 20

// inotifyLine is a line of busybox inotifyd's output, with when it came.
type inotifyLine struct {
	text string
	at   time.Time
}

// inotifyWatch follows a container's output (busybox inotifyd -).
type inotifyWatch struct {
	mu    sync.Mutex
	lines []inotifyLine
	seen  int // lines already looked at
}

// followLogs starts cmd, a skiff logs -f, and follows its output.
func followLogs(t *testing.T, cmd *exec.Cmd) *inotifyWatch {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &inotifyWatch{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			w.mu.Lock()
			w.lines = append(w.lines, inotifyLine{text: sc.Text(), at: time.Now()})
			w.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		<-done
	})
	return w
}

// next waits up to d for a line not looked at yet that match accepts,
// and returns it with the lines that came before it.
func (w *inotifyWatch) next(d time.Duration, match func(string) bool) (inotifyLine, bool) {
	deadline := time.Now().Add(d)
	for {
		w.mu.Lock()
		for ; w.seen < len(w.lines); w.seen++ {
			if match(w.lines[w.seen].text) {
				l := w.lines[w.seen]
				w.seen++
				w.mu.Unlock()
				return l, true
			}
		}
		w.mu.Unlock()
		if time.Now().After(deadline) {
			return inotifyLine{}, false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// since are the lines that came at or after t.
func (w *inotifyWatch) since(t time.Time) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, l := range w.lines {
		if !l.at.Before(t) {
			out = append(out, l.text)
		}
	}
	return out
}

func (w *inotifyWatch) skipAll() {
	w.mu.Lock()
	w.seen = len(w.lines)
	w.mu.Unlock()
}

// names reports whether an inotifyd line is about name in /work, or,
// with name "", about /work itself.
func names(line, name string) bool {
	f := strings.Split(line, "\t")
	if name == "" {
		return len(f) == 2 && f[1] == "/work"
	}
	return len(f) == 3 && f[1] == "/work" && f[2] == name
}

func agentMemory(t *testing.T) int64 {
	t.Helper()
	for _, l := range strings.Split(must(t, "info"), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Agent Memory: "); ok {
			n, err := units.RAMInBytes(v)
			if err != nil {
				t.Fatalf("agent memory %q: %v", v, err)
			}
			return n
		}
	}
	t.Fatal("skiff info shows no agent memory")
	return 0
}

// fileEventsRig is how the file-event checks reach skiff and the host:
// as root, or as an ordinary user whose QEMU shares folders over 9p.
type fileEventsRig struct {
	// skiff is a skiff command, not started.
	skiff func(args ...string) *exec.Cmd
	// must runs skiff and fails the test unless it exits 0.
	must func(args ...string) string
	// asOwner makes a change on the host as the shared folder's owner
	// would (an editor of the user's).
	asOwner func(change func() error) error
	// dir makes a folder the machine shares, for the watcher program.
	dir func() string
}

// hostChangesHeardOnce runs a container (named name) whose inotify
// watcher watches dir, bind-mounted at /work, and checks that it hears
// of each change made on the host (create, write, rename, remove) within
// eventDeadline, and of nothing twice. It returns the watcher, with
// every line so far looked at.
func hostChangesHeardOnce(t *testing.T, rig fileEventsRig, dir, name string) *inotifyWatch {
	t.Helper()
	// The bundled busybox has no inotifyd: a static program that prints
	// what it would is bind-mounted in.
	tools := rig.dir()
	build := exec.Command("go", "build", "-o", filepath.Join(tools, "inotifywatch"), "./testdata/inotifywatch")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the watcher: %v: %s", err, out)
	}
	rig.must("run", "-d", "--name", name, "-v", dir+":/work", "-v", tools+":/tools:ro", busybox, "/tools/inotifywatch", "/work")
	w := followLogs(t, rig.skiff("logs", "-f", name))

	// The watch is in place once a probe is heard of: the host daemon
	// learns of the bind when the container starts.
	probe := filepath.Join(dir, "probe")
	eventually(t, time.Minute, "the watcher to hear of a probe file", func() bool {
		if err := rig.asOwner(func() error { return os.WriteFile(probe, []byte("p"), 0o644) }); err != nil {
			t.Fatal(err)
		}
		_, ok := w.next(500*time.Millisecond, func(l string) bool { return names(l, "probe") })
		return ok
	})
	if err := rig.asOwner(func() error { return os.Remove(probe) }); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	w.skipAll()

	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	steps := []struct {
		what   string
		change func() error
		// heard matches a line that tells of the change.
		heard func(string) bool
	}{
		{"create", func() error { return os.WriteFile(a, []byte("1"), 0o644) }, func(l string) bool { return names(l, "a") }},
		{"write", func() error {
			f, err := os.OpenFile(a, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				return err
			}
			_, err = f.WriteString("2")
			return errors.Join(err, f.Close())
		}, func(l string) bool { return names(l, "a") }},
		{"rename", func() error { return os.Rename(a, b) }, func(l string) bool { return names(l, "b") }},
		{"remove", func() error { return os.Remove(b) }, func(l string) bool { return names(l, "b") || names(l, "") }},
	}
	for _, st := range steps {
		start := time.Now()
		if err := rig.asOwner(st.change); err != nil {
			t.Fatalf("%s on the host: %v", st.what, err)
		}
		l, ok := w.next(eventDeadline, st.heard)
		if !ok {
			t.Fatalf("the container heard nothing of the host's %s within %v; it heard %q", st.what, eventDeadline, w.since(start))
		}
		t.Logf("%s: heard %q after %v", st.what, l.text, l.at.Sub(start).Round(time.Millisecond))
		// Whatever else the change brings comes within the deadline too;
		// none of it twice.
		time.Sleep(time.Until(start.Add(eventDeadline + 300*time.Millisecond)))
		got := w.since(start)
		count := map[string]int{}
		for _, l := range got {
			if count[l]++; count[l] == 2 {
				t.Errorf("%s: the container heard %q twice: %q", st.what, l, got)
			}
		}
		w.skipAll()
	}
	return w
}

// TestFileEvents shows a container's inotify watcher (inotifyd's output) on a bind-mounted
// folder hearing of each change made on the host (create, write, rename,
// remove) within a second, and of nothing twice; and a storm of 10,000
// files made at once neither holding up the agent nor growing its memory
// past agentMemoryGrowth.
func TestFileEvents(t *testing.T) {
	dir := t.TempDir()
	name := "fsevents"
	cleanup(t, name)
	w := hostChangesHeardOnce(t, fileEventsRig{
		skiff: func(args ...string) *exec.Cmd {
			cmd := exec.Command(filepath.Join(binDir, "skiff"), args...)
			cmd.Env = env()
			return cmd
		},
		must:    func(args ...string) string { return must(t, args...) },
		asOwner: func(change func() error) error { return change() },
		dir:     t.TempDir,
	}, dir, name)
	// Containers' own writes to the bind mount, the watcher's and
	// another's: the guest's kernel tells the watcher, and the host's
	// report of the same write, back through the share, is not replayed
	// on top of it.
	for _, st := range []struct {
		what string
		args []string
		file string
	}{
		{"a create and write in the watcher's container", []string{"exec", name, "sh", "-c", "echo 1 > /work/c"}, "c"},
		{"a rewrite in the watcher's container", []string{"exec", name, "sh", "-c", "echo 2 >> /work/c"}, "c"},
		{"a write in another container", []string{"run", "--rm", "-v", dir + ":/work", busybox, "sh", "-c", "echo 3 > /work/d"}, "d"},
	} {
		start := time.Now()
		must(t, st.args...)
		time.Sleep(eventDeadline + 300*time.Millisecond)
		got := w.since(start)
		closed := 0
		for _, l := range got {
			if names(l, st.file) && strings.HasPrefix(l, "w\t") {
				closed++
			}
		}
		if closed != 1 {
			t.Errorf("%s: the watcher heard IN_CLOSE_WRITE on %s %d times, want once: %q", st.what, st.file, closed, got)
		} else {
			t.Logf("%s: heard %q", st.what, got)
		}
		w.skipAll()
	}

	quiet := time.Now()
	time.Sleep(2 * time.Second)
	if late := w.since(quiet); len(late) > 0 {
		t.Errorf("the container heard more after the changes were done (an echo?): %q", late)
	}

	// A storm: 10,000 files made in one burst.
	before := agentMemory(t)
	storm := filepath.Join(dir, "storm")
	if err := os.Mkdir(storm, 0o755); err != nil {
		t.Fatal(err)
	}
	stormStart := time.Now()
	for i := range 10000 {
		if err := os.WriteFile(filepath.Join(storm, fmt.Sprintf("f%05d", i)), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("10,000 files made on the host in %v", time.Since(stormStart).Round(time.Millisecond))
	execStart := time.Now()
	if out := must(t, "exec", name, "echo", "alive"); out != "alive" {
		t.Fatalf("exec during the storm printed %q", out)
	}
	took := time.Since(execStart)
	t.Logf("exec during the storm answered in %v", took.Round(time.Millisecond))
	if took > 15*time.Second {
		t.Errorf("exec during the storm took %v: the agent was held up", took)
	}
	// Wait for the replay to finish: the output goes quiet.
	settle := time.Now().Add(2 * time.Minute)
	for n := -1; time.Now().Before(settle); {
		time.Sleep(2 * time.Second)
		now := len(w.since(stormStart))
		if now == n {
			break
		}
		n = now
	}
	heard := w.since(stormStart)
	if len(heard) == 0 {
		t.Errorf("the container heard nothing of the storm")
	}
	after := agentMemory(t)
	t.Logf("the container heard %d events of the storm; agent memory %s before, %s after", len(heard), units.BytesSize(float64(before)), units.BytesSize(float64(after)))
	if after-before > agentMemoryGrowth {
		t.Errorf("the agent's memory grew by %s through the storm, more than %s", units.BytesSize(float64(after-before)), units.BytesSize(agentMemoryGrowth))
	}
	if out := must(t, "exec", name, "echo", "alive"); out != "alive" {
		t.Fatalf("exec after the storm printed %q", out)
	}
}

package fsevents

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// The test binary, run again with writeEnv set, is "a container": a
// process other than the agent that writes files on the share.
const (
	writeEnv = "FSEVENTS_TEST_WRITE" // the file, or the prefix of files
	countEnv = "FSEVENTS_TEST_COUNT" // how many files: PREFIX0 .. PREFIX(n-1)
	dataEnv  = "FSEVENTS_TEST_DATA"  // what each gets
	holdEnv  = "FSEVENTS_TEST_HOLD"  // set: the one file stays open until stdin ends
	pauseEnv = "FSEVENTS_TEST_PAUSE" // a time.Duration between creating the one file and writing it
)

func TestMain(m *testing.M) {
	if p := os.Getenv(writeEnv); p != "" {
		pause, _ := time.ParseDuration(os.Getenv(pauseEnv))
		if err := writeFiles(p, os.Getenv(countEnv), os.Getenv(dataEnv), os.Getenv(holdEnv) != "", pause); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func writeFiles(p, count, data string, hold bool, pause time.Duration) error {
	names := []string{p}
	if count != "" {
		n, err := strconv.Atoi(count)
		if err != nil {
			return err
		}
		names = names[:0]
		for i := range n {
			names = append(names, p+strconv.Itoa(i))
		}
	}
	for _, name := range names {
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		if pause > 0 {
			fmt.Println("created")
			time.Sleep(pause)
		}
		if _, err := f.WriteString(data); err != nil {
			f.Close()
			return err
		}
		if hold {
			fmt.Println("written")
			_, _ = io.Copy(io.Discard, os.Stdin)
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// writeElsewhere writes data to p from another process, as a container
// would; with count > 0, to count files named p0, p1, ...
func writeElsewhere(t *testing.T, p, data string, count int) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), writeEnv+"="+p, dataEnv+"="+data)
	if count > 0 {
		cmd.Env = append(cmd.Env, countEnv+"="+strconv.Itoa(count))
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("write %s from another process: %v: %s", p, err, out)
	}
}

// holdElsewhere writes data to p from another process that keeps it
// open until the returned function is called.
func holdElsewhere(t *testing.T, p, data string) (closeIt func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), writeEnv+"="+p, dataEnv+"="+data, holdEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, len("written\n"))
	if _, err := io.ReadFull(out, line); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("write %s from another process: %v", p, err)
	}
	return func() {
		t.Helper()
		in.Close()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("close %s in another process: %v", p, err)
		}
	}
}

// createElsewhere creates p from another process, which writes data
// to it after pause; it returns once p is created, and a function that
// waits for the write.
func createElsewhere(t *testing.T, p, data string, pause time.Duration) (wait func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), writeEnv+"="+p, dataEnv+"="+data, pauseEnv+"="+pause.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, len("created\n"))
	if _, err := io.ReadFull(out, line); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("create %s from another process: %v", p, err)
	}
	return func() {
		t.Helper()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("write %s from another process: %v", p, err)
		}
	}
}

// newOwn watches the writes to a file system of the test's own (a tmpfs,
// so that nothing else on this machine writes there), as the agent does
// a share.
func newOwn(t *testing.T) (*OwnWrites, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("fanotify file system marks need CAP_SYS_ADMIN: run as root to test hearing of the guest's own writes")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=16m,mode=0755"); err != nil {
		t.Fatalf("mount a tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	o, err := WatchOwnWrites(slog.New(slog.DiscardHandler), []string{dir})
	if err != nil {
		t.Fatalf("fanotify on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := o.Close(); err != nil {
			t.Error(err)
		}
	})
	return o, dir
}

func statOf(t *testing.T, p string) unix.Statx_t {
	t.Helper()
	st, err := fresh(p)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestKernelLeavesOutTheGuestsOwnWrites(t *testing.T) {
	o, dir := newOwn(t)
	k := &Kernel{Log: slog.New(slog.DiscardHandler), Own: o}
	read := inotifyOf(t, dir)
	f := filepath.Join(dir, "f")
	write := []Event{{Path: f, Change: apiv1.FileChange_FILE_CHANGE_CONTENT}}
	replayed := func(what string, want bool) {
		t.Helper()
		k.Replay(write, nil)
		got := masks(read(), "f")
		if want && (len(got) != 3 || got[2] != unix.IN_CLOSE_WRITE) {
			t.Fatalf("%s: replayed as %#x, want IN_OPEN, IN_MODIFY, IN_CLOSE_WRITE", what, got)
		}
		if !want && len(got) != 0 {
			t.Fatalf("%s: replayed as %#x, want nothing: the writer's watchers heard of it already", what, got)
		}
	}

	// A container creates and writes f: the host's report of it comes
	// back as is, and is left out, however often the host sends it.
	writeElsewhere(t, f, "hello", 0)
	read()
	replayed("the host's report of a container's write", false)
	replayed("the same report again", false)

	// A file the host writes (this process stands in for it: its
	// writes are the agent's own, not heard of) is replayed; that replay
	// opens it for writing, and is not taken for the guest's write.
	g := filepath.Join(dir, "g")
	if err := os.WriteFile(g, []byte("from the host"), 0o644); err != nil {
		t.Fatal(err)
	}
	read()
	host := []Event{{Path: g, Change: apiv1.FileChange_FILE_CHANGE_CONTENT}}
	for _, what := range []string{"a host write", "a report after the agent's own replay"} {
		k.Replay(host, nil)
		if got := masks(read(), "g"); len(got) != 3 || got[2] != unix.IN_CLOSE_WRITE {
			t.Fatalf("%s: replayed as %#x, want IN_OPEN, IN_MODIFY, IN_CLOSE_WRITE", what, got)
		}
	}

	// The host reports a container's write before the container closed
	// the file: its watchers hear of it at the close.
	closeIt := holdElsewhere(t, f, "in progress")
	read()
	replayed("the host's report of a write in progress", false)
	closeIt()
	read()
	replayed("the host's report of it after the close", false)

	// A container writes f, then the host writes it again: same size,
	// but a time of its own. That is the host's change, and replayed.
	writeElsewhere(t, f, "world", 0)
	if err := os.WriteFile(f, []byte("HOST!"), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(f, later, later); err != nil {
		t.Fatal(err)
	}
	read()
	replayed("the host's write after a container's", true)

	// A bigger write from the host, without touching the time.
	writeElsewhere(t, f, "short", 0)
	before := statOf(t, f)
	if err := os.WriteFile(f, []byte("longer from the host"), 0o644); err != nil {
		t.Fatal(err)
	}
	times := []unix.Timespec{ts(before.Atime), ts(before.Mtime)}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, f, times, 0); err != nil {
		t.Fatal(err)
	}
	read()
	replayed("a host write of another size", true)

	// The host reports a container's create before its write (the host
	// waits 5 ms; the container took longer): its watchers hear of it
	// at the close, once.
	h := filepath.Join(dir, "h")
	wait := createElsewhere(t, h, "late", 5*time.Millisecond)
	late := &Kernel{Log: k.Log, Own: o, grace: 2 * time.Second}
	late.Replay([]Event{{Path: h, Change: apiv1.FileChange_FILE_CHANGE_CONTENT}}, nil)
	wait()
	got := masks(read(), "h")
	closes := 0
	for _, m := range got {
		if m&unix.IN_CLOSE_WRITE != 0 {
			closes++
		}
	}
	if closes != 1 {
		t.Fatalf("a create reported before its write: heard %#x, want one IN_CLOSE_WRITE, the container's", got)
	}

	// A change of metadata after a container's write: as before.
	writeElsewhere(t, f, "x", 0)
	read()
	k.Replay([]Event{{Path: f, Change: apiv1.FileChange_FILE_CHANGE_ATTRIB}}, nil)
	if got := masks(read(), "f"); len(got) != 1 || got[0] != unix.IN_ATTRIB {
		t.Fatalf("a chmod replayed as %#x, want IN_ATTRIB", got)
	}
}

func TestOwnWritesForgetTheOldest(t *testing.T) {
	o, dir := newOwn(t)
	// 100,000 files written, in rounds the kernel's queue (16,384
	// events) holds whole.
	const n, round = 100_000, 10_000
	prefix := filepath.Join(dir, "f")
	for i := 0; i < n; i += round {
		writeElsewhere(t, prefix+strconv.Itoa(i/round)+"-", "", round)
		o.mu.Lock()
		o.drainLocked()
		o.mu.Unlock()
		if got := o.len(); got > maxOwn {
			t.Fatalf("%d writes remembered, more than %d", got, maxOwn)
		}
	}
	if got := o.len(); got != maxOwn {
		t.Fatalf("%d writes remembered after %d, want the newest %d", got, n, maxOwn)
	}
	name := func(i int) string { return fmt.Sprintf("%s%d-%d", prefix, i/round, i%round) }
	first, last := statOf(t, name(0)), statOf(t, name(n-1))
	if o.Own(&first) {
		t.Error("the oldest write is still remembered")
	}
	if !o.Own(&last) {
		t.Error("the newest write is forgotten")
	}

	// Past ownTTL, nothing is remembered.
	o.mu.Lock()
	o.now = func() time.Time { return time.Now().Add(ownTTL + time.Second) }
	o.mu.Unlock()
	before := statOf(t, name(n-2))
	if o.Own(&before) {
		t.Errorf("a write %v old is still remembered", ownTTL)
	}
	if got := o.len(); got != 0 {
		t.Errorf("%d writes remembered past %v", got, ownTTL)
	}
}

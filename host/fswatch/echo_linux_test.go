package fswatch

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// replayLikeTheAgent does on the host what the agent's replay does
// through the share (guest/fsevents): times set to the values they have,
// a file opened for writing and closed.
func replayLikeTheAgent(t *testing.T, p string, both bool) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	at := unix.Timespec{Nsec: unix.UTIME_OMIT}
	if both {
		at = st.Atim
	}
	if st.Mode&unix.S_IFMT == unix.S_IFREG {
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{at, st.Mtim}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		t.Fatal(err)
	}
}

func TestWatcherLeavesOutTheAgentsReplays(t *testing.T) {
	root := t.TempDir()
	w := newWatcher(t, Options{})
	w.Set([]string{root})
	c := collect(t, w)
	time.Sleep(50 * time.Millisecond)
	count := func() int {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.events)
	}
	quiet := func(what string, want int) {
		t.Helper()
		time.Sleep(150 * time.Millisecond)
		if n := count(); n != want {
			c.mu.Lock()
			defer c.mu.Unlock()
			t.Fatalf("%s: %d events, want %d: %+v", what, n, want, c.events)
		}
	}

	f := filepath.Join(root, "f")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.wait(t, f, Content)
	quiet("the write", 1)
	replayLikeTheAgent(t, f, false)
	quiet("the write's replay", 1)

	if err := os.Chmod(f, 0o600); err != nil {
		t.Fatal(err)
	}
	c.wait(t, f, Attrib)
	replayLikeTheAgent(t, f, true)
	quiet("the chmod's replay", 2)

	if err := os.Remove(f); err != nil {
		t.Fatal(err)
	}
	c.wait(t, f, Gone)
	// The agent signals the folder that held it.
	replayLikeTheAgent(t, root, false)
	quiet("the removal's replay", 3)

	// A real change after all that is still sent.
	if err := os.WriteFile(f, []byte("again"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.wait(t, f, Content)
}

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

// replayThrough9p does on the host what the agent's replay of a write
// does through the guest's 9p, whose kernel cuts the time it sets to the
// second: the file opened for writing and closed, its mtime set to its
// value without the fraction.
func replayThrough9p(t *testing.T, p string) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFREG {
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	cut := unix.Timespec{Sec: st.Mtim.Sec}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{{Nsec: unix.UTIME_OMIT}, cut}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		t.Fatal(err)
	}
}

// withFraction sets p's mtime to one with a fraction of a second (a
// file system's own times may fall on one by chance).
func withFraction(t *testing.T, p string) time.Time {
	t.Helper()
	mt := time.Unix(time.Now().Unix()-5, 123456789)
	if err := os.Chtimes(p, time.Time{}, mt); err != nil {
		t.Fatal(err)
	}
	return mt
}

func TestWatcherSetsBackATimeAReplayThrough9pCut(t *testing.T) {
	root := t.TempDir()
	w := newWatcher(t, Options{})
	w.Set([]string{root})
	c := collect(t, w)
	time.Sleep(50 * time.Millisecond)
	// settled is the count of events once the host's are in (a write
	// and the mtime set after it may come as one or two).
	settled := func() int {
		time.Sleep(150 * time.Millisecond)
		return c.count()
	}
	quiet := func(what string, want int) {
		t.Helper()
		time.Sleep(150 * time.Millisecond)
		if n := c.count(); n != want {
			c.mu.Lock()
			defer c.mu.Unlock()
			t.Fatalf("%s: %d events, want %d: %+v", what, n, want, c.events)
		}
	}
	mtime := func(p string) time.Time {
		t.Helper()
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.ModTime()
	}

	f := filepath.Join(root, "f")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := withFraction(t, f)
	c.wait(t, f, Content)
	n := settled()
	replayThrough9p(t, f)
	quiet("the write's replay through 9p", n)
	if got := mtime(f); !got.Equal(want) {
		t.Errorf("the file's mtime after the replay is %v, want %v as the host wrote it", got, want)
	}

	// The agent signals the folder that held a file removed: its time,
	// cut too, is set back as well.
	if err := os.Remove(f); err != nil {
		t.Fatal(err)
	}
	c.wait(t, f, Gone)
	n = settled()
	before := mtime(root)
	if before.Nanosecond() == 0 {
		t.Skipf("the folder's mtime %v has no fraction of a second to lose", before)
	}
	replayThrough9p(t, root)
	quiet("the removal's replay through 9p", n)
	if got := mtime(root); !got.Equal(before) {
		t.Errorf("the folder's mtime after the replay is %v, want %v", got, before)
	}

	// A write after all that is still sent.
	if err := os.WriteFile(f, []byte("again"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.wait(t, f, Content)
}

func TestWatcherLeavesOutTheAgentsReplays(t *testing.T) {
	root := t.TempDir()
	w := newWatcher(t, Options{})
	w.Set([]string{root})
	c := collect(t, w)
	time.Sleep(50 * time.Millisecond)
	quiet := func(what string, want int) {
		t.Helper()
		time.Sleep(150 * time.Millisecond)
		if n := c.count(); n != want {
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

package fsevents

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// inotifyOf watches dir and returns a function that reads what arrived,
// as "NAME MASK" pairs, until the queue is quiet.
func inotifyOf(t *testing.T, dir string) func() []struct {
	name string
	mask uint32
} {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_ALL_EVENTS&^(unix.IN_ACCESS|unix.IN_CLOSE_NOWRITE|unix.IN_OPEN)|unix.IN_OPEN); err != nil {
		t.Fatal(err)
	}
	return func() []struct {
		name string
		mask uint32
	} {
		var out []struct {
			name string
			mask uint32
		}
		buf := make([]byte, 64<<10)
		time.Sleep(20 * time.Millisecond)
		for {
			n, err := unix.Read(fd, buf)
			if err != nil || n <= 0 {
				return out
			}
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
				name := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
				out = append(out, struct {
					name string
					mask uint32
				}{string(bytes.TrimRight(name, "\x00")), ev.Mask})
				off += unix.SizeofInotifyEvent + int(ev.Len)
			}
		}
	}
}

func masks(evs []struct {
	name string
	mask uint32
}, name string) []uint32 {
	var out []uint32
	for _, e := range evs {
		if e.name == name {
			out = append(out, e.mask)
		}
	}
	return out
}

func TestKernelReplaysWithoutChangingContent(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	if err := os.WriteFile(f, []byte("hello"), 0o640); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2020, 1, 2, 3, 4, 5, 600, time.UTC)
	if err := os.Chtimes(f, old, old); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	read := inotifyOf(t, dir)
	k := &Kernel{Log: slog.New(slog.DiscardHandler)}

	k.Replay([]Event{{Path: f, Change: apiv1.FileChange_FILE_CHANGE_CONTENT}}, nil)
	got := masks(read(), "f")
	want := []uint32{unix.IN_OPEN, unix.IN_MODIFY, unix.IN_CLOSE_WRITE}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("a write replayed as %#x, want %#x", got, want)
	}

	k.Replay([]Event{{Path: f, Change: apiv1.FileChange_FILE_CHANGE_ATTRIB}}, nil)
	if got := masks(read(), "f"); len(got) != 1 || got[0] != unix.IN_ATTRIB {
		t.Fatalf("a chmod replayed as %#x, want IN_ATTRIB", got)
	}

	k.Replay([]Event{{Path: sub, Change: apiv1.FileChange_FILE_CHANGE_CONTENT, Dir: true}}, nil)
	if got := masks(read(), "sub"); len(got) != 1 || got[0] != unix.IN_MODIFY|unix.IN_ISDIR {
		t.Fatalf("a new folder replayed as %#x, want IN_MODIFY|IN_ISDIR", got)
	}

	// Two paths gone from one folder, and a rescan of it: one signal.
	k.Replay([]Event{
		{Path: filepath.Join(sub, "x"), Change: apiv1.FileChange_FILE_CHANGE_GONE},
		{Path: filepath.Join(sub, "y"), Change: apiv1.FileChange_FILE_CHANGE_GONE},
		{Path: filepath.Join(sub, "z"), Change: apiv1.FileChange_FILE_CHANGE_CONTENT}, // gone already
	}, []string{sub})
	if got := masks(read(), "sub"); len(got) != 1 || got[0] != unix.IN_MODIFY|unix.IN_ISDIR {
		t.Fatalf("removals replayed as %#x, want one IN_MODIFY|IN_ISDIR on the folder", got)
	}

	data, err := os.ReadFile(f)
	if err != nil || string(data) != "hello" {
		t.Fatalf("content now %q, %v", data, err)
	}
	fi, err := os.Stat(f)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.ModTime().Equal(old) || fi.Mode().Perm() != 0o640 {
		t.Fatalf("metadata changed: mtime %v mode %v, want %v %v", fi.ModTime(), fi.Mode().Perm(), old, os.FileMode(0o640))
	}
}

func TestKernelLeavesAFifoUnopened(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	read := inotifyOf(t, dir)
	k := &Kernel{Log: slog.New(slog.DiscardHandler)}
	k.Replay([]Event{{Path: p, Change: apiv1.FileChange_FILE_CHANGE_CONTENT}}, nil)
	if got := masks(read(), "fifo"); len(got) != 1 || got[0] != unix.IN_MODIFY {
		t.Fatalf("a fifo replayed as %#x, want IN_MODIFY alone", got)
	}
}

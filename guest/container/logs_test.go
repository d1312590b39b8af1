package container

import (
	"path/filepath"
	"strings"
	"testing"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

func all(*apiv1.LogEntry) bool { return true }

func TestLogLinesPartialsAndTail(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c-json.log")
	l, err := openLog(p)
	if err != nil {
		t.Fatal(err)
	}
	out, errs := apiv1.StreamKind_STREAM_STDOUT, apiv1.StreamKind_STREAM_STDERR
	l.Write(out, []byte("one\ntw"))
	l.Write(errs, []byte("oops\n"))
	l.Write(out, []byte("o\nthree"))
	l.Flush()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	entries, err := readLog(p, 1<<40, -1, all)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, streamName(e.Stream)+":"+string(e.Data))
	}
	want := "stdout:one\n|stderr:oops\n|stdout:two\n|stdout:three"
	if strings.Join(got, "|") != want {
		t.Fatalf("got %q\nwant %q", strings.Join(got, "|"), want)
	}
	tail, _ := readLog(p, 1<<40, 2, all)
	if len(tail) != 2 || string(tail[1].Data) != "three" {
		t.Fatalf("tail 2: %v", tail)
	}
	none, _ := readLog(p, 1<<40, 0, all)
	if len(none) != 0 {
		t.Fatalf("tail 0: %v", none)
	}
}

func TestLogFollowSeesOnlyNewEntries(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c-json.log")
	l, err := openLog(p)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Write(apiv1.StreamKind_STREAM_STDOUT, []byte("before\n"))
	size, feed, stop := l.follow()
	defer stop()
	l.Write(apiv1.StreamKind_STREAM_STDOUT, []byte("after\n"))
	old, _ := readLog(p, size, -1, all)
	if len(old) != 1 || string(old[0].Data) != "before\n" {
		t.Fatalf("up to the follow point: %v", old)
	}
	if e := <-feed; string(e.Data) != "after\n" {
		t.Fatalf("followed %q", e.Data)
	}
	l.endFollowers()
	if _, ok := <-feed; ok {
		t.Fatal("feed not closed when the container stopped")
	}
}

func TestLongLineIsSplit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c-json.log")
	l, _ := openLog(p)
	l.Write(apiv1.StreamKind_STREAM_STDOUT, []byte(strings.Repeat("x", maxLogLine+10)))
	l.Flush()
	l.Close()
	entries, _ := readLog(p, 1<<40, -1, all)
	if len(entries) != 2 || len(entries[0].Data) != maxLogLine {
		t.Fatalf("got %d entries", len(entries))
	}
}

//go:build linux || darwin

package qemu

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTailWriter(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{"nothing", nil, ""},
		{"one line", []string{"hello\n"}, "hello"},
		{"blank lines after", []string{"first\nsecond\n\n  \n"}, "second"},
		{"split across writes", []string{"qemu-system-x86_64: -fsdev ", "local: cannot\n"}, "qemu-system-x86_64: -fsdev local: cannot"},
		{"unterminated last", []string{"a\nb"}, "b"},
		{"long line capped", []string{strings.Repeat("x", 3*maxLine) + "\n"}, strings.Repeat("x", maxLine)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			w := &tailWriter{w: &log}
			for _, s := range tc.writes {
				if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write: %d, %v", n, err)
				}
			}
			if got := w.last(); got != tc.want {
				t.Errorf("last = %q, want %q", got, tc.want)
			}
			if log.String() != strings.Join(tc.writes, "") {
				t.Errorf("the log got %q", log.String())
			}
		})
	}
}

// A helper that dies while its socket is awaited is reported at once, in
// its own words.
func TestWaitSocketHelperDies(t *testing.T) {
	var log bytes.Buffer
	h, err := startHelper("virtiofsd for /x", []string{"sh", "-c", "echo starting; echo 'setgroups() failed' >&2; exit 1"}, &log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	began := time.Now()
	err = waitSocket(ctx, filepath.Join(t.TempDir(), "never.sock"), h)
	if err == nil || err.Error() != "virtiofsd for /x exited: exit status 1: setgroups() failed" {
		t.Fatalf("waitSocket: %v", err)
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("the dead helper was noticed after %v", d)
	}
	if !strings.Contains(log.String(), "starting\n") {
		t.Errorf("the log lacks the helper's output: %q", log.String())
	}
}

func TestHelperSaysNothing(t *testing.T) {
	h, err := startHelper("qemu", []string{"false"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	<-h.exited
	if got := h.failure().Error(); got != "qemu exited: exit status 1, saying nothing" {
		t.Errorf("failure: %s", got)
	}
}

func TestStartHelperMissingBinary(t *testing.T) {
	_, err := startHelper("qemu", []string{"/nonexistent/qemu-system-x86_64"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "start qemu (/nonexistent/qemu-system-x86_64)") {
		t.Fatalf("startHelper: %v", err)
	}
}

// A helper that exits while QEMU runs takes the machine down, and its own
// last line is why the machine stopped.
func TestWatchHelperExitStopsMachine(t *testing.T) {
	var log bytes.Buffer
	qemu, err := startHelper("qemu", []string{"sleep", "60"}, &log)
	if err != nil {
		t.Fatal(err)
	}
	fsd, err := startHelper("virtiofsd for /home/me", []string{"sh", "-c", "echo 'fuse: device gone' >&2; exit 2"}, &log)
	if err != nil {
		t.Fatal(err)
	}
	m := &machine{qemu: qemu, helpers: []*helper{fsd}, done: make(chan struct{})}
	go m.watch()
	select {
	case <-m.done:
	case <-time.After(20 * time.Second):
		t.Fatal("the machine did not stop when its virtiofsd exited")
	}
	if m.exitErr == nil || m.exitErr.Error() != "virtiofsd for /home/me exited: exit status 2: fuse: device gone" {
		t.Errorf("exitErr: %v", m.exitErr)
	}
	select {
	case <-qemu.exited:
	default:
		t.Error("QEMU still runs")
	}
}

// QEMU powering off cleanly stops the machine with no error, even when a
// virtiofsd saw it hang up and exited first.
func TestWatchCleanPowerOff(t *testing.T) {
	qemu, err := startHelper("qemu", []string{"sh", "-c", "sleep 0.2"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	fsd, err := startHelper("virtiofsd for /home/me", []string{"true"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	m := &machine{qemu: qemu, helpers: []*helper{fsd}, done: make(chan struct{})}
	go m.watch()
	<-m.done
	if m.exitErr != nil {
		t.Errorf("exitErr: %v", m.exitErr)
	}
}

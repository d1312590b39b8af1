package qemu

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestReadyUptime(t *testing.T) {
	got, ok := readyUptime([]byte("x\nskiff-agent: boot phases: ...\nskiff-agent: ready (1.250s after boot)\n"))
	if !ok || got != 1250*time.Millisecond {
		t.Errorf("readyUptime = %v, %v", got, ok)
	}
	for _, bad := range []string{"", "skiff-agent: ready (", "skiff-agent: ready (xs after boot)", "skiff-agent: ready (-1s after boot)", "skiff-agent: ready (s after boot)"} {
		if _, ok := readyUptime([]byte(bad)); ok {
			t.Errorf("readyUptime(%q) found one", bad)
		}
	}
}

func TestHostPhases(t *testing.T) {
	want := "skiff: boot phases: hypervisor start 0s → kernel hand-over 0.300s → agent ready 1.500s (host clock, from QEMU's launch)"
	if got := hostPhases(1500*time.Millisecond, 1200*time.Millisecond); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func FuzzReadyUptime(f *testing.F) {
	f.Add([]byte("skiff-agent: ready (1.250s after boot)"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if d, ok := readyUptime(data); ok && d < 0 {
			t.Fatalf("negative uptime %v", d)
		}
	})
}

func TestLineEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "console.log")
	if _, ok := lineEnd(path); ok {
		t.Error("a missing console ends a line")
	}
	for _, c := range []struct {
		data string
		end  bool
	}{{"", true}, {"skiff-agent: ready (1.2s after boot)\n", true}, {"line\ntime=2026 le", false}} {
		if err := os.WriteFile(path, []byte(c.data), 0o600); err != nil {
			t.Fatal(err)
		}
		if size, end := lineEnd(path); size != int64(len(c.data)) || end != c.end {
			t.Errorf("lineEnd(%q) = %d, %v; want %d, %v", c.data, size, end, len(c.data), c.end)
		}
	}
}

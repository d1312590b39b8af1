package machine

import (
	"strings"
	"testing"
	"time"
)

func TestProcStartTime(t *testing.T) {
	stat := "1 (init (x) y) S 0 1 1 0 -1 4194560 1000 0 0 0 5 10 0 0 20 0 3 0 42 10000000 700 18446744073709551615\n"
	got, err := procStartTime([]byte(stat))
	if err != nil || got != 420*time.Millisecond {
		t.Errorf("procStartTime = %v, %v; want 420ms", got, err)
	}
	for _, bad := range []string{"", "1 (init S 0", "1 (init) S 0 1", "1 (init) S 0 1 1 0 -1 4194560 1000 0 0 0 5 10 0 0 20 0 3 0 x 1"} {
		if _, err := procStartTime([]byte(bad)); err == nil {
			t.Errorf("procStartTime(%q) gave no error", bad)
		}
	}
}

func TestBootPhasesString(t *testing.T) {
	p := bootPhases{init: 410 * time.Millisecond, agent: 450 * time.Millisecond, disk: 900 * time.Millisecond, ready: 1100 * time.Millisecond}
	want := "kernel hand-over 0s → init 0.410s → agent 0.450s → data disk mounted 0.900s → agent ready 1.100s (guest uptime)"
	if got := p.String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !strings.Contains(p.String(), "agent ready") {
		t.Error("no ready phase")
	}
}

func FuzzProcStartTime(f *testing.F) {
	f.Add([]byte("1 (init) S 0 1 1 0 -1 4194560 1000 0 0 0 5 10 0 0 20 0 3 0 42 1 2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if d, err := procStartTime(data); err == nil && d < 0 {
			t.Fatalf("negative start time %v", d)
		}
	})
}

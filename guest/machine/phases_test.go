package machine

import (
	"strings"
	"testing"
	"time"
)

func TestInitStarted(t *testing.T) {
	if got := initStarted("420000000"); got != 420*time.Millisecond {
		t.Errorf("initStarted = %v, want 420ms", got)
	}
	for _, bad := range []string{"", "x", "-1", "1.5", "99999999999999999999"} {
		if got := initStarted(bad); got != 0 {
			t.Errorf("initStarted(%q) = %v, want 0", bad, got)
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

//go:build !windows

package detach

import (
	"strconv"
	"strings"
	"testing"
)

// TestCommandRunsInItsOwnSession: the child leads a session of its own,
// so the terminal's signals to this one's do not reach it.
func TestCommandRunsInItsOwnSession(t *testing.T) {
	cmd := Command("sh", "-c", "ps -o sid= -p $$")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ps: %v", err)
	}
	sid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("ps printed %q", out)
	}
	if sid != cmd.Process.Pid {
		t.Errorf("the child (pid %d) is in session %d, not one of its own", cmd.Process.Pid, sid)
	}
}

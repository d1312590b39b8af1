package progress

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

func step() Step {
	return Step{
		Label: func() string { return "Starting x..." },
		Done:  func(took time.Duration) string { return fmt.Sprintf("x ready in %.1fs", took.Seconds()) },
	}
}

func TestShowOnAPipe(t *testing.T) {
	var b bytes.Buffer
	if err := Show(&b, false, step(), func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^Starting x\.\.\.\nx ready in \d+\.\ds\n$`).MatchString(b.String()) {
		t.Errorf("output %q", b.String())
	}

	b.Reset()
	boom := errors.New("boom")
	if err := Show(&b, false, step(), func() error { return boom }); !errors.Is(err, boom) {
		t.Errorf("err = %v, want boom", err)
	}
	if b.String() != "Starting x...\n" {
		t.Errorf("a failed step on a pipe printed %q", b.String())
	}
}

func TestShowOnATerminal(t *testing.T) {
	var b bytes.Buffer
	labels := 0
	s := step()
	s.Label = func() string { labels++; return fmt.Sprintf("Starting x (%d)...", labels) }
	err := Show(&b, true, s, func() error { time.Sleep(3 * Tick); return nil })
	if err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if labels < 2 || !strings.Contains(out, "\r\x1b[KStarting x (2)...") {
		t.Errorf("the label was not redrawn (%d labels): %q", labels, out)
	}
	if !regexp.MustCompile(`\r\x1b\[KStarting x \(\d+\)\.\.\. ready in \d+\.\ds\n$`).MatchString(out) {
		t.Errorf("the last line does not say ready: %q", out)
	}

	b.Reset()
	if err := Show(&b, true, step(), func() error { return errors.New("boom") }); err == nil {
		t.Fatal("the step's error was lost")
	}
	if !regexp.MustCompile(`^\r\x1b\[KStarting x\.\.\. failed after \d+\.\ds\n$`).MatchString(b.String()) {
		t.Errorf("a failed step on a terminal printed %q", b.String())
	}
}

//go:build e2e

package main_test

import (
	"strings"
	"testing"
)

func TestBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		// says is a part of the one-line error the user reads.
		says string
	}{
		{"unknown image", []string{"run", "--rm", "--pull", "never", "no-such-image:1"}, 125, "no-such-image"},
		{"command not found", []string{"run", "--rm", busybox, "no-such-command"}, 127, "no-such-command"},
		{"command not executable", []string{"run", "--rm", busybox, "/etc/passwd"}, 126, "/etc/passwd"},
		{"invalid memory", []string{"run", "--rm", "--memory", "lots", busybox, "true"}, 125, "--memory"},
		{"invalid restart policy", []string{"run", "--restart", "sometimes", busybox, "true"}, 125, "restart"},
		{"restart with rm", []string{"run", "--rm", "--restart", "always", busybox, "true"}, 125, "--rm"},
		{"unknown capability", []string{"run", "--rm", "--cap-add", "FLY", busybox, "true"}, 125, "FLY"},
		{"unknown user", []string{"run", "--rm", "-u", "nosuchuser", busybox, "true"}, 125, "nosuchuser"},
		{"invalid ulimit", []string{"run", "--rm", "--ulimit", "nofile=x", busybox, "true"}, 125, "ulimit"},
		{"unknown flag", []string{"run", "--no-such-flag", busybox}, 125, "no-such-flag"},
		{"unknown container", []string{"stop", "no-such-container"}, 125, "no-such-container"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := must(t, "ps", "-a", "-q")
			r := skiff(t, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d: %s", r.code, tc.code, r)
			}
			if !strings.Contains(r.stderr, tc.says) || !strings.HasPrefix(r.stderr, "skiff: ") {
				t.Errorf("stderr %q should start with \"skiff: \" and name %q", r.stderr, tc.says)
			}
			if after := must(t, "ps", "-a", "-q"); after != before {
				t.Errorf("a failed command left a container: before %q, after %q", before, after)
			}
		})
	}
}

func TestNameInUse(t *testing.T) {
	name := "e2e-taken"
	cleanup(t, name)
	must(t, "create", "--name", name, busybox, "true")
	r := skiff(t, "run", "--name", name, busybox, "true")
	if r.code != 125 || !strings.Contains(r.stderr, "already in use") {
		t.Fatalf("second container with the same name: %s", r)
	}
}

func TestFailedStartKeepsContainerWithoutRm(t *testing.T) {
	// docker run without --rm keeps a container whose command is missing,
	// in state created with exit code 127.
	name := "e2e-missing-cmd"
	cleanup(t, name)
	r := skiff(t, "run", "--name", name, busybox, "no-such-command")
	if r.code != 127 {
		t.Fatalf("%s", r)
	}
	if st := must(t, "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name); st != "created 127" {
		t.Fatalf("state %q, want created 127", st)
	}
	id := must(t, "inspect", "--format", "{{.Id}}", name)
	must(t, "rm", name)
	assertGone(t, id)
}

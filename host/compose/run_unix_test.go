//go:build !windows

package compose

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A stand-in for compose: a shell script that prints what it was given
// and exits with the code it is told.
const script = `#!/bin/sh
echo "args:$*"
echo "host:$DOCKER_HOST"
read line && echo "stdin:$line"
echo oops >&2
exit "$1"
`

func TestRunPassesArgumentsAndKeepsTheExitCode(t *testing.T) {
	plugin := filepath.Join(t.TempDir(), PluginName)
	if err := os.WriteFile(plugin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code, err := Run(context.Background(),
		Streams{In: strings.NewReader("hello\n"), Out: &out, Err: &errb},
		Options{Plugin: plugin, DockerHost: "unix:///m/docker.sock", Args: []string{"3", "up", "-d", "--wait"}})
	if err != nil {
		t.Fatal(err)
	}
	if code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}
	want := "args:3 up -d --wait\nhost:unix:///m/docker.sock\nstdin:hello\n"
	if out.String() != want || errb.String() != "oops\n" {
		t.Errorf("stdout %q, stderr %q; want %q, %q", out.String(), errb.String(), want, "oops\n")
	}
}

func TestRunReportsASignalAsAShellWould(t *testing.T) {
	plugin := filepath.Join(t.TempDir(), PluginName)
	if err := os.WriteFile(plugin, []byte("#!/bin/sh\nkill -TERM $$\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, err := Run(context.Background(), Streams{}, Options{Plugin: plugin, DockerHost: "unix:///x"})
	if err != nil || code != 128+15 {
		t.Errorf("Run = %d, %v; want 143", code, err)
	}
}

func TestRunFailsWhenThePluginCannotStart(t *testing.T) {
	_, err := Run(context.Background(), Streams{}, Options{Plugin: filepath.Join(t.TempDir(), "missing")})
	if err == nil {
		t.Fatal("Run of a missing binary succeeded")
	}
}

// Command skiff is the CLI: docker's commands, flags, output and exit
// codes, carried out by skiff-agent in a machine that skiff starts when a
// command first needs it. Each command file parses its flags into an
// options struct and calls one function under host/.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/host/opts"
)

// Set by the build with -ldflags "-X main.version=... -X main.gitCommit=...".
var (
	version   = "dev"
	gitCommit = ""
)

// Exit codes of failures, docker's.
const (
	// exitFailure is what any failure of skiff itself exits with.
	exitFailure = 125
	// exitExecFailure is exec's: docker exec exits 1 when it cannot run a
	// command (no such container, not running), keeping 125-127 for the
	// command's own statuses.
	exitExecFailure = 1
)

// annotationFailureCode on a command overrides exitFailure.
const annotationFailureCode = "skiff.failure-code"

func main() {
	// run returns only after its deferred cleanup (the terminal's mode
	// above all) has run; os.Exit skips deferred calls, so it comes last.
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one command line and returns the process's exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{in: stdin, out: stdout, err: stderr}
	defer a.close()
	root := newRootCommand(a)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteC()
	return report(stderr, cmd, err)
}

// exitStatus ends the CLI with a process's exit code and no message.
type exitStatus struct{ code int }

func (e *exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// withStatus turns a process's exit code into the command's error.
func withStatus(code int, err error) error {
	if err != nil {
		return err
	}
	if code != 0 {
		return &exitStatus{code: code}
	}
	return nil
}

// report prints err the way docker does, one "skiff: " line per failure
// (a usage mistake followed by where to read more), and returns the exit
// code.
func report(w io.Writer, cmd *cobra.Command, err error) int {
	if err == nil {
		return 0
	}
	var st *exitStatus
	if errors.As(err, &st) {
		return st.code
	}
	if errors.Is(err, context.Canceled) {
		return exitFailure
	}
	for _, line := range strings.Split(strings.TrimRight(err.Error(), "\n"), "\n") {
		fmt.Fprintf(w, "skiff: %s\n", line)
	}
	var usage *opts.UsageError
	if errors.As(err, &usage) && cmd != nil {
		fmt.Fprintf(w, "See '%s --help'.\n", cmd.CommandPath())
		return exitFailure
	}
	var ee *agentclient.ExitError
	if errors.As(err, &ee) && ee.Code != 0 {
		return ee.Code
	}
	if cmd != nil {
		if c, err := strconv.Atoi(cmd.Annotations[annotationFailureCode]); err == nil {
			return c
		}
	}
	return exitFailure
}

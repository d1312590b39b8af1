// Package detach makes the commands of programs that outlive the skiff
// command starting them: a machine's host daemon, its docker API process,
// the native driver's agent. On Unix such a program runs in a session of
// its own, so a terminal's hangup or the CLI's process-group signals do
// not reach it; on Windows it is detached from the console, so closing
// the terminal leaves it running. Reaping it, its log and its pid file
// are the caller's.
package detach

import "os/exec"

// Command is exec.Command for a program that outlives this one. It is
// not exec.CommandContext: no context of this process may end it.
func Command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = sysProcAttr()
	return cmd
}

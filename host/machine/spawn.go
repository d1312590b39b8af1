package machine

import (
	"fmt"
	"os"

	"github.com/skiffrun/skiff/platform/detach"
)

// spawnDaemon starts this program as the machine's host daemon, with its
// output in daemon.log. The machine's directory is made the user's alone
// first: the agent's socket the daemon creates in it inherits that (on
// Windows, its ACL), and the socket is the key to every container.
func (m *Machine) spawnDaemon() (*os.Process, error) {
	if err := restrictToOwner(m.spec.Dir); err != nil {
		return nil, err
	}
	return m.spawn("the machine's host daemon", m.daemonLog(), m.daemonArgs())
}

// spawn starts this program with args as a process that outlives this
// command (platform/detach), in the machine's directory, its output
// appended to logPath; what names it in errors.
func (m *Machine) spawn(what, logPath string, args []string) (*os.Process, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find skiff: %w", err)
	}
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the log of %s: %w", what, err)
	}
	defer logf.Close()
	cmd := detach.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = m.spec.Dir
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", what, err)
	}
	// Reaped here while this command lives; init adopts it after.
	go func() { _ = cmd.Wait() }()
	return cmd.Process, nil
}

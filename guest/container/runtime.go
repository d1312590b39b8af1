package container

import (
	"os"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// Runtime runs container processes; guest/runner implements it with
// libcontainer.
type Runtime interface {
	// Start creates container id from spec and starts its first process
	// once ready, called while the container's init is set up, returns
	// nil; its error fails the start.
	Start(id string, spec *specs.Spec, stdio Stdio, ready func() error) (Process, error)
	// Exec starts another process in running container id.
	Exec(id string, ps *specs.Process, stdio Stdio) (Process, error)
	// Signal signals the first process of container id.
	Signal(id string, sig syscall.Signal) error
	// Pause freezes every process of container id; Resume thaws them.
	Pause(id string) error
	Resume(id string) error
	// Stats samples the usage counters of container id.
	Stats(id string) (*apiv1.ContainerStats, error)
	// Pids lists the machine pids of container id's processes.
	Pids(id string) ([]int, error)
	// OOMKilled reports whether the OOM killer struck container id; it
	// is asked before Destroy.
	OOMKilled(id string) bool
	// Destroy removes what is left of container id; unknown ids are fine.
	Destroy(id string) error
	// Leftovers lists containers with runtime state.
	Leftovers() ([]string, error)
}

// Stdio connects a process: with Terminal, a pty; else the files, nil
// meaning /dev/null.
type Stdio struct {
	Stdin          *os.File
	Stdout, Stderr *os.File
	Terminal       bool
	Width, Height  uint16
}

// Process is a started process.
type Process interface {
	Pid() int
	Signal(sig syscall.Signal) error
	// Wait returns the exit code, 128+n for signal n.
	Wait() (int, error)
	// Console is the pty master, or nil without a terminal.
	Console() *os.File
	Resize(width, height uint16) error
}

// Updater is a Runtime that can change a running container's cgroup
// limits.
type Updater interface {
	Update(id string, res *specs.LinuxResources) error
}

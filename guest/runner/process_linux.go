package runner

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Process is a started container process.
type Process struct {
	p       *libcontainer.Process
	console *os.File
}

// Console is the pty master of a process started with a terminal, else nil.
func (p *Process) Console() *os.File { return p.console }

// Pid is the process's pid on the machine.
func (p *Process) Pid() int {
	pid, _ := p.p.Pid()
	return pid
}

// Signal sends sig to the process.
func (p *Process) Signal(sig syscall.Signal) error { return p.p.Signal(sig) }

// Wait waits for the process to exit and returns its exit code: its own
// status, or 128+n when signal n killed it, as shells and Docker report.
func (p *Process) Wait() (int, error) {
	st, err := p.p.Wait()
	if st == nil {
		return -1, fmt.Errorf("wait for container process: %w", err)
	}
	ws, ok := st.Sys().(syscall.WaitStatus)
	if !ok {
		return st.ExitCode(), nil
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

// Resize sets the window size of the process's terminal.
func (p *Process) Resize(width, height uint16) error {
	if p.console == nil {
		return fmt.Errorf("resize: the process has no terminal: %w", errdefs.ErrFailedPrecondition)
	}
	return unix.IoctlSetWinsize(int(p.console.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: width, Row: height})
}

func newProcess(ps *specs.Process, init bool) (*libcontainer.Process, error) {
	if ps == nil || len(ps.Args) == 0 {
		return nil, fmt.Errorf("no command to run: %w", errdefs.ErrInvalidArgument)
	}
	p := &libcontainer.Process{
		Args:            ps.Args,
		Env:             ps.Env,
		UID:             int(ps.User.UID),
		GID:             int(ps.User.GID),
		Cwd:             ps.Cwd,
		NoNewPrivileges: &ps.NoNewPrivileges,
		Init:            init,
	}
	for _, g := range ps.User.AdditionalGids {
		p.AdditionalGroups = append(p.AdditionalGroups, int(g))
	}
	if c := ps.Capabilities; c != nil {
		p.Capabilities = &configs.Capabilities{
			Bounding:    c.Bounding,
			Effective:   c.Effective,
			Permitted:   c.Permitted,
			Inheritable: c.Inheritable,
			Ambient:     c.Ambient,
		}
	}
	for _, rl := range ps.Rlimits {
		t, ok := rlimitTypes[rl.Type]
		if !ok {
			return nil, fmt.Errorf("unknown rlimit %q: %w", rl.Type, errdefs.ErrInvalidArgument)
		}
		p.Rlimits = append(p.Rlimits, configs.Rlimit{Type: t, Soft: rl.Soft, Hard: rl.Hard})
	}
	return p, nil
}

var rlimitTypes = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE,
	"RLIMIT_CPU": unix.RLIMIT_CPU, "RLIMIT_DATA": unix.RLIMIT_DATA,
	"RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE,
	"RLIMIT_NICE": unix.RLIMIT_NICE, "RLIMIT_NOFILE": unix.RLIMIT_NOFILE,
	"RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME,
	"RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING, "RLIMIT_STACK": unix.RLIMIT_STACK,
}

// ErrNotExecutable and ErrCommandNotFound classify a start that failed
// because of the command itself, which Docker reports with exit codes 126
// and 127.
var (
	ErrNotExecutable   = errors.New("permission denied")
	ErrCommandNotFound = errors.New("executable file not found")
)

// startError classifies an error from libcontainer's start. The cause
// crosses a process boundary (runc init reports it over a pipe) as text, so
// its wording is all there is to go on.
func startError(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "executable file not found"), strings.Contains(msg, "no such file or directory") && strings.Contains(msg, "exec"):
		return fmt.Errorf("%w: %w", ErrCommandNotFound, err)
	case strings.Contains(msg, "permission denied") && strings.Contains(msg, "exec"):
		return fmt.Errorf("%w: %w", ErrNotExecutable, err)
	}
	return fmt.Errorf("start container process: %w", err)
}

// socketPair returns the two ends of a unix socket pair, used to receive
// the pty master that the container's init creates.
func socketPair() (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("create console socket: %w", err)
	}
	return os.NewFile(uintptr(fds[1]), "console-parent"), os.NewFile(uintptr(fds[0]), "console-child"), nil
}

// recvFile receives one file descriptor sent with SCM_RIGHTS.
func recvFile(sock *os.File) (*os.File, error) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, err
	}
	if len(msgs) != 1 {
		return nil, fmt.Errorf("expected one control message, got %d", len(msgs))
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil {
		return nil, err
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			_ = unix.Close(fd)
		}
		return nil, fmt.Errorf("expected one file descriptor, got %d", len(fds))
	}
	return os.NewFile(uintptr(fds[0]), string(buf[:n])), nil
}

package native

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"

	"github.com/skiffrun/skiff/guest/api/atomicfile"
	"github.com/skiffrun/skiff/guest/api/errclass"
	"github.com/skiffrun/skiff/guest/api/filelock"
	"github.com/skiffrun/skiff/guest/api/wire"
	"github.com/skiffrun/skiff/platform"
	"github.com/skiffrun/skiff/platform/detach"
)

// pollInterval paces the checks for the socket to answer and for the agent
// to exit: short enough that a start costs little more than the agent's own
// start-up time.
const pollInterval = 5 * time.Millisecond

// startMarker begins the line written to the log before each start, so a
// reader (and lastLine) can tell the agent's runs apart.
const startMarker = "skiff: starting"

// Grace periods after SIGTERM and SIGKILL. They run after ctx has ended, so
// they have their own clocks. Variables, so tests need not wait them out.
var (
	termGrace = 5 * time.Second
	killGrace = 2 * time.Second
)

func start(ctx context.Context, spec platform.MachineSpec) (err error) {
	if err := spec.Validate(); err != nil {
		return err
	}
	if spec.AgentBinary == "" {
		return errclass.Errorf(errdefs.ErrInvalidArgument, "no skiff-agent binary given for machine %q", spec.Name)
	}
	if answers(ctx, spec.AgentSocket) {
		return nil
	}
	if err := os.MkdirAll(spec.Dir, 0o700); err != nil {
		return fmt.Errorf("create machine directory: %w", err)
	}
	// Two commands may find the machine stopped at once; the lock lets one
	// start it and the other find it answering.
	unlock, err := filelock.Lock(ctx, filepath.Join(spec.Dir, wire.StartLockFile))
	if err != nil {
		return fmt.Errorf("wait for another command starting the machine: %w", err)
	}
	defer unlock()
	if answers(ctx, spec.AgentSocket) {
		return nil
	}
	// An agent that holds the pid file but does not answer is wedged or
	// half-started by a command that gave up; a new one replaces it.
	if pid, ok := runningAgent(spec); ok {
		_ = unix.Kill(pid, unix.SIGKILL)
		waitGone(pid, spec, killGrace)
	}
	// A socket file left by an agent that died would make listen fail.
	if err := removeIfExists(spec.AgentSocket); err != nil {
		return err
	}
	if err := os.MkdirAll(spec.AgentRoot, 0o700); err != nil {
		return fmt.Errorf("create agent root: %w", err)
	}
	logf, err := os.OpenFile(spec.Log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open agent log: %w", err)
	}
	defer logf.Close()

	cmd := command(spec)
	cmd.Stdout = logf
	cmd.Stderr = logf
	fmt.Fprintf(logf, "%s %s %s\n", time.Now().UTC().Format(time.RFC3339), startMarker, strings.Join(cmd.Args, " "))
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", spec.AgentBinary, err)
	}
	exited := make(chan error, 1)
	// Reaping here keeps a failed agent from lingering as a zombie for as
	// long as this process lives; once this process exits, init adopts it.
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if err != nil {
			_ = cmd.Process.Kill()
			_ = os.Remove(spec.PIDFile)
		}
	}()
	if err := atomicfile.WriteFile(spec.PIDFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n")); err != nil {
		return fmt.Errorf("write agent pid file: %w", err)
	}

	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if answers(ctx, spec.AgentSocket) {
			return nil
		}
		select {
		case werr := <-exited:
			return fmt.Errorf("skiff-agent exited before it answered (%w)%s; its log is %s", werr, lastLine(spec.Log), spec.Log)
		case <-ctx.Done():
			return fmt.Errorf("skiff-agent did not answer on %s in time; its log is %s: %w", spec.AgentSocket, spec.Log, ctx.Err())
		case <-tick.C:
		}
	}
}

// command is the agent's command line: a program that outlives this one
// (platform/detach).
func command(spec platform.MachineSpec) *exec.Cmd {
	args := []string{"serve", "--listen", "unix://" + spec.AgentSocket, "--root", spec.AgentRoot}
	for _, img := range spec.SeedImages {
		args = append(args, "--seed-image", img)
	}
	cmd := detach.Command(spec.AgentBinary, args...)
	cmd.Dir = spec.Dir
	return cmd
}

func attach(ctx context.Context, spec platform.MachineSpec) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	if _, ok := runningAgent(spec); ok || answers(ctx, spec.AgentSocket) {
		return nil
	}
	return errclass.Errorf(errdefs.ErrNotFound, "machine %q is not running", spec.Name)
}

func wait(ctx context.Context, spec platform.MachineSpec) error {
	pid, ok := runningAgent(spec)
	if !ok || waitGoneCtx(ctx, pid, spec) {
		return nil
	}
	return ctx.Err()
}

func stop(ctx context.Context, spec platform.MachineSpec) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	if pid, ok := runningAgent(spec); ok {
		if !waitGoneCtx(ctx, pid, spec) {
			if err := unix.Kill(pid, unix.SIGTERM); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("stop skiff-agent (pid %d): %w", pid, err)
			}
			if !waitGone(pid, spec, termGrace) {
				if err := unix.Kill(pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
					return fmt.Errorf("kill skiff-agent (pid %d): %w", pid, err)
				}
				if !waitGone(pid, spec, killGrace) {
					return errclass.Errorf(errdefs.ErrUnavailable, "skiff-agent (pid %d) survived SIGKILL", pid)
				}
			}
		}
	}
	return errors.Join(removeIfExists(spec.AgentSocket), removeIfExists(spec.PIDFile))
}

// runningAgent returns the pid in the pid file when that process is still
// this machine's agent; a pid file outliving its process (and a pid since
// reused by something else) must never lead to signalling a stranger.
func runningAgent(spec platform.MachineSpec) (int, bool) {
	b, err := os.ReadFile(spec.PIDFile)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, isAgent(pid, spec)
}

// isAgent reports whether pid is alive (not a zombie) and was started with
// this machine's socket.
func isAgent(pid int, spec platform.MachineSpec) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and may
	// itself contain spaces or parentheses.
	if i := bytes.LastIndexByte(stat, ')'); i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z' {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "--listen" && args[i+1] == "unix://"+spec.AgentSocket {
			return true
		}
	}
	return false
}

func waitGoneCtx(ctx context.Context, pid int, spec platform.MachineSpec) bool {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if !isAgent(pid, spec) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
}

func waitGone(pid int, spec platform.MachineSpec, d time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return waitGoneCtx(ctx, pid, spec)
}

func answers(ctx context.Context, socket string) bool {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}

// lastLine returns ": " and the log's last non-empty line, which is
// usually the agent's own account of why it stopped.
func lastLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > 4096 {
		_, _ = f.Seek(-4096, io.SeekEnd)
	}
	var last string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			last = l
		}
	}
	if strings.Contains(last, startMarker) {
		return ""
	}
	if last == "" {
		return ""
	}
	return ": " + last
}

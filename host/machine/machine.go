// Package machine is the host side of a machine's lifecycle: where its
// state lives ($SKIFF_HOME/machines/NAME), which driver runs it, how the
// CLI reaches its agent, and starting it on the first command that needs
// it, stopping it, and telling whether it runs. Running a machine of one
// kind or another is left to the platform drivers; speaking the agent's
// API, to host/agentclient.
package machine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/api/wire"
	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/platform"
	"github.com/skiffrun/skiff/platform/atomicfile"
)

// DefaultName is the machine used when none is named.
const DefaultName = "default"

// Timeouts of a machine's start and stop.
const (
	// StartTimeout bounds starting a machine and waiting for its agent.
	StartTimeout = 20 * time.Second
	// shutdownTimeout bounds the Shutdown call itself.
	shutdownTimeout = 5 * time.Second
	// stopTimeout is how long the agent has to exit after Shutdown before
	// the driver stops it by force.
	stopTimeout = 15 * time.Second
)

// Options select a machine. Empty fields take their defaults from the
// environment (SKIFF_HOME, SKIFF_MACHINE, SKIFF_DRIVER), then built-in ones.
type Options struct {
	Home   string
	Name   string
	Driver string
}

// Machine is one machine as the CLI sees it.
type Machine struct {
	spec platform.MachineSpec
	home string

	startOnce sync.Once
	startErr  error
}

// New resolves o into a machine. Nothing is started or created on disk.
func New(o Options) (*Machine, error) {
	if o.Home == "" {
		h, err := Home()
		if err != nil {
			return nil, err
		}
		o.Home = h
	}
	if o.Name == "" {
		o.Name = os.Getenv("SKIFF_MACHINE")
	}
	if o.Name == "" {
		o.Name = DefaultName
	}
	if err := ValidateName(o.Name); err != nil {
		return nil, err
	}
	if o.Driver == "" {
		o.Driver = os.Getenv("SKIFF_DRIVER")
	}
	home, err := filepath.Abs(o.Home)
	if err != nil {
		return nil, fmt.Errorf("skiff home %q: %w", o.Home, err)
	}
	dir := filepath.Join(home, "machines", o.Name)
	if o.Driver == "" {
		// The driver the machine was first started with.
		o.Driver = savedDriver(dir)
	}
	if o.Driver == "" {
		o.Driver = defaultDriver(dir)
	}
	spec := platform.MachineSpec{
		Name:        o.Name,
		Dir:         dir,
		Driver:      o.Driver,
		AgentSocket: filepath.Join(dir, wire.SocketFile),
		AgentRoot:   filepath.Join(dir, "agent"),
		Log:         filepath.Join(dir, wire.AgentLogFile),
		PIDFile:     filepath.Join(dir, wire.AgentPIDFile),
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	return &Machine{spec: spec, home: home}, nil
}

// Home returns the directory skiff keeps its state in: $SKIFF_HOME, or
// the OS's place for it (defaultHome: .skiff in the user's home directory,
// %LOCALAPPDATA%\skiff on Windows).
func Home() (string, error) {
	if h := os.Getenv("SKIFF_HOME"); h != "" {
		return h, nil
	}
	h, err := defaultHome()
	if err != nil {
		return "", fmt.Errorf("find home directory (or set SKIFF_HOME): %w", err)
	}
	return h, nil
}

// Spec returns the machine's description.
func (m *Machine) Spec() platform.MachineSpec { return m.spec }

// Client returns a client of the machine's agent. Nothing is dialled until
// its first call; then, when autoStart is set and the agent does not
// answer, the machine is started first.
func (m *Machine) Client(autoStart bool) (*agentclient.Client, error) {
	return agentclient.New(m.spec.AgentSocket, func(ctx context.Context) (net.Conn, error) {
		return m.dial(ctx, autoStart)
	})
}

func (m *Machine) dial(ctx context.Context, autoStart bool) (net.Conn, error) {
	c, err := dialSocket(ctx, m.spec.AgentSocket)
	if err == nil {
		return c, nil
	}
	if errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("connect to machine %q at %s: %w", m.spec.Name, m.spec.AgentSocket, err)
	}
	if !autoStart {
		return nil, m.notRunning()
	}
	m.startOnce.Do(func() { m.startErr = m.Start(ctx) })
	if m.startErr != nil {
		return nil, m.startErr
	}
	return dialSocket(ctx, m.spec.AgentSocket)
}

func (m *Machine) notRunning() error {
	return errorf(errdefs.ErrUnavailable, "machine %q is not running; start it with: skiff machine start", m.spec.Name)
}

// Start starts the machine unless its agent already answers, and waits
// until it does: StartTimeout for a detached driver (native), longer for a
// VM, which a host daemon boots and owns.
func (m *Machine) Start(ctx context.Context) error {
	if answers(ctx, m.spec.AgentSocket) {
		return nil
	}
	d, err := platform.Lookup(m.spec.Driver)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(m.spec.Dir, 0o700); err != nil {
		return fmt.Errorf("create machine directory: %w", err)
	}
	// MkdirAll leaves an existing directory's mode alone, and the socket in
	// it is the key to every container.
	if err := os.Chmod(m.spec.Dir, 0o700); err != nil {
		return fmt.Errorf("restrict machine directory: %w", err)
	}
	if err := m.saveDriver(); err != nil {
		return fmt.Errorf("start machine %q: %w", m.spec.Name, err)
	}
	if _, ok := d.(platform.Detached); !ok {
		if err := m.startDaemon(ctx, d); err != nil {
			return fmt.Errorf("start machine %q: %w", m.spec.Name, err)
		}
		return nil
	}
	spec := m.spec
	if spec.AgentBinary, err = findAgent(); err != nil {
		return fmt.Errorf("start machine %q: %w", spec.Name, err)
	}
	if spec.SeedImages, err = seedImages(spec.AgentBinary); err != nil {
		return fmt.Errorf("start machine %q: %w", spec.Name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	if _, err := d.Start(ctx, spec); err != nil {
		return fmt.Errorf("start machine %q: %w", spec.Name, err)
	}
	return nil
}

// startDaemon starts the machine's host daemon unless one runs, and waits
// until the machine's socket answers, the daemon exits, or the VM start
// timeout passes.
func (m *Machine) startDaemon(ctx context.Context, d platform.Driver) error {
	// Check the spec, the hypervisor and the guest image here, where the
	// user sees the error, rather than in the daemon's log.
	spec, err := m.vmSpec()
	if err != nil {
		return err
	}
	if c, ok := d.(platform.Checker); ok {
		if err := c.Check(spec); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, vmStartTimeout+10*time.Second)
	defer cancel()
	unlock, err := lockFile(ctx, m.startLock())
	if err != nil {
		return err
	}
	defer unlock()
	if _, alive := m.daemonPID(); !alive {
		p, err := m.spawnDaemon()
		if err != nil {
			return err
		}
		// The daemon writes its own pid file; write it too, so a racing
		// command finds it at once.
		if err := atomicfile.WriteFile(m.daemonPIDFile(), []byte(strconv.Itoa(p.Pid)+"\n")); err != nil {
			return err
		}
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if answers(ctx, m.spec.AgentSocket) {
			return nil
		}
		if _, alive := m.daemonPID(); !alive {
			if st := m.readState(); st.Error != "" {
				return errors.New(st.Error)
			}
			return fmt.Errorf("%w%s; its log is %s", errDaemonExited, lastLineOf(m.daemonLog()), m.daemonLog())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the machine did not come up in time (%w)%s", ctx.Err(), consoleTail(m.consoleLog(), 5))
		case <-tick.C:
		}
	}
}

func lastLineOf(path string) string {
	if l := lastLines(path, 1); len(l) == 1 {
		return ": " + l[0]
	}
	return ""
}

// Stop asks the agent to shut down (it stops every container), gives it
// time to exit, and makes sure it did: through the driver for a detached
// machine, by signalling the host daemon (which stops the VM by force) for
// a VM.
func (m *Machine) Stop(ctx context.Context) error {
	d, err := platform.Lookup(m.spec.Driver)
	if err != nil {
		return err
	}
	wait := time.Duration(0)
	if answers(ctx, m.spec.AgentSocket) {
		wait = stopTimeout
		if err := m.shutdown(ctx); err != nil && !errdefs.IsUnavailable(err) {
			return fmt.Errorf("stop machine %q: %w", m.spec.Name, err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	det, ok := d.(platform.Detached)
	if !ok {
		if err := m.stopDaemon(wctx); err != nil {
			return fmt.Errorf("stop machine %q: %w", m.spec.Name, err)
		}
		return nil
	}
	vm, err := det.Attach(wctx, m.spec)
	if errdefs.IsNotFound(err) {
		// Nothing runs; clear what a crash may have left.
		vm, err = detachedLeftovers{m.spec}, nil
	}
	if err != nil {
		return fmt.Errorf("stop machine %q: %w", m.spec.Name, err)
	}
	if err := vm.Stop(wctx); err != nil {
		return fmt.Errorf("stop machine %q: %w", m.spec.Name, err)
	}
	return nil
}

// detachedLeftovers clears a detached machine's socket and pid file when
// nothing runs.
type detachedLeftovers struct{ spec platform.MachineSpec }

func (detachedLeftovers) AgentConn(context.Context) (net.Conn, error) {
	return nil, errors.New("not running")
}
func (detachedLeftovers) Wait(context.Context) error { return nil }
func (l detachedLeftovers) Stop(context.Context) error {
	return errors.Join(removeIfExists(l.spec.AgentSocket), removeIfExists(l.spec.PIDFile))
}

// stopDaemon waits until ctx ends for the host daemon to exit (it does
// once the VM powered off), then asks it to stop the VM (SIGTERM) and, as
// a last resort, kills it; QEMU dies with it.
func (m *Machine) stopDaemon(ctx context.Context) error {
	gone := func(d time.Duration) bool {
		deadline := time.Now().Add(d)
		for {
			if _, alive := m.daemonPID(); !alive {
				return true
			}
			if time.Now().After(deadline) {
				return false
			}
			select {
			case <-ctx.Done():
				if d < 0 {
					return false
				}
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	if dl, ok := ctx.Deadline(); ok {
		if gone(time.Until(dl)) {
			return m.clearDaemon()
		}
	}
	if pid, alive := m.daemonPID(); alive {
		if err := signalDaemon(pid, false); err != nil {
			return err
		}
		if !gone(vmStopTimeout + 5*time.Second) {
			if err := signalDaemon(pid, true); err != nil {
				return err
			}
			if !gone(5 * time.Second) {
				return errorf(errdefs.ErrUnavailable, "the machine's host daemon (pid %d) survived SIGKILL", pid)
			}
		}
	}
	return m.clearDaemon()
}

func (m *Machine) clearDaemon() error {
	if st := m.readState(); st.Status != Stopped && st.Status != "" {
		st.Status, st.Error, st.PID, st.VMPID = Stopped, "", 0, 0
		m.writeState(st)
	}
	return errors.Join(removeIfExists(m.spec.AgentSocket), removeIfExists(m.daemonPIDFile()))
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}

func (m *Machine) shutdown(ctx context.Context) error {
	c, err := m.Client(false)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, shutdownTimeout)
	defer cancel()
	_, err = c.System.Shutdown(ctx, &apiv1.Empty{})
	return err
}

// Status is what `skiff machine status` prints.
type Status string

// Status reports whether the machine runs: running or stopped, and for a
// VM also starting, or error when it stopped unexpectedly.
func (m *Machine) Status(ctx context.Context) Status {
	s, _ := m.Describe(ctx)
	return s
}

// Describe is Status with, for error, what went wrong and the last lines
// of the machine's console.
func (m *Machine) Describe(ctx context.Context) (Status, string) {
	ans := answers(ctx, m.spec.AgentSocket)
	d, err := platform.Lookup(m.spec.Driver)
	if _, detached := d.(platform.Detached); err != nil || detached {
		if ans {
			return Running, ""
		}
		return Stopped, ""
	}
	_, alive := m.daemonPID()
	last := m.readState()
	st := vmStatus(ans, alive, last)
	if st != Error {
		return st, ""
	}
	detail := last.Error
	if detail == "" {
		detail = "the machine's host daemon exited unexpectedly; its log is " + m.daemonLog()
	}
	if !strings.Contains(detail, "console") {
		detail += consoleTail(m.consoleLog(), 5)
	}
	return st, detail
}

func dialSocket(ctx context.Context, socket string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", socket)
}

func answers(ctx context.Context, socket string) bool {
	c, err := dialSocket(ctx, socket)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// errorf returns an error that reads as the formatted message alone while
// errors.Is still finds class (an errdefs category) in it.
func errorf(class error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if wm, ok := class.(interface{ WithMessage(string) error }); ok {
		return wm.WithMessage(msg)
	}
	return fmt.Errorf("%s: %w", msg, class)
}

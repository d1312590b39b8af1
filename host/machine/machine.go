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
	"sync"
	"time"

	"github.com/containerd/errdefs"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/platform"
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
	if o.Driver == "" {
		o.Driver = os.Getenv("SKIFF_DRIVER")
	}
	if o.Driver == "" {
		o.Driver = defaultDriver
	}
	home, err := filepath.Abs(o.Home)
	if err != nil {
		return nil, fmt.Errorf("skiff home %q: %w", o.Home, err)
	}
	dir := filepath.Join(home, "machines", o.Name)
	spec := platform.MachineSpec{
		Name:        o.Name,
		Dir:         dir,
		Driver:      o.Driver,
		AgentSocket: filepath.Join(dir, "skiff.sock"),
		AgentRoot:   filepath.Join(dir, "agent"),
		Log:         filepath.Join(dir, "agent.log"),
		PIDFile:     filepath.Join(dir, "agent.pid"),
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	return &Machine{spec: spec}, nil
}

// Home returns the directory skiff keeps its state in: $SKIFF_HOME, or
// .skiff in the user's home directory.
func Home() (string, error) {
	if h := os.Getenv("SKIFF_HOME"); h != "" {
		return h, nil
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find home directory (or set SKIFF_HOME): %w", err)
	}
	return filepath.Join(h, ".skiff"), nil
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
// (StartTimeout at most) until it does.
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
	spec := m.spec
	if spec.AgentBinary, err = findAgent(); err != nil {
		return fmt.Errorf("start machine %q: %w", spec.Name, err)
	}
	if spec.SeedImages, err = seedImages(spec.AgentBinary); err != nil {
		return fmt.Errorf("start machine %q: %w", spec.Name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	if err := d.Start(ctx, spec); err != nil {
		return fmt.Errorf("start machine %q: %w", spec.Name, err)
	}
	return nil
}

// Stop asks the agent to shut down (it stops every container), gives it
// time to exit, and has the driver make sure it did.
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
	if err := d.Stop(wctx, m.spec); err != nil {
		return fmt.Errorf("stop machine %q: %w", m.spec.Name, err)
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

// Statuses of a machine.
const (
	Running Status = "running"
	Stopped Status = "stopped"
)

// Status reports whether the machine's agent answers.
func (m *Machine) Status(ctx context.Context) Status {
	if answers(ctx, m.spec.AgentSocket) {
		return Running
	}
	return Stopped
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

// Package machine is the host side of a machine's lifecycle: where its
// state lives ($SKIFF_HOME/machines/NAME), which driver runs it, how the
// CLI reaches its agent, and starting it on the first command that needs
// it, stopping it, and telling whether it runs. Its files go by concern:
// machine.go selects a machine and dials its agent; lifecycle.go starts
// and stops it; daemon.go (with process_*.go and clock.go) is the host
// daemon that owns a VM, keeps its clock and publishes its ports;
// config.go and shares.go are its saved configuration and shared
// folders; state.go and info.go what status reports; manage.go names,
// disks and removal; agent.go and guestimage.go find what it boots
// (guestimage.go pulls the guest image through host/vmimage).
// Running a machine of one kind or another is left to the platform
// drivers; speaking the agent's API, to host/agentclient; translating
// paths into shares, to host/pathmap; the CLI's verbs, to host/machines.
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

	"github.com/skiffrun/skiff/guest/api/errclass"
	"github.com/skiffrun/skiff/guest/api/wire"
	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/host/hostsvc"
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
	home string

	startOnce sync.Once
	startErr  error

	// image is the guest image the next start boots (PrepareImage).
	image *BootImage

	// services are the host daemon's services to the agent (RunDaemon's);
	// nil elsewhere.
	services *hostsvc.Registry
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
	return errclass.Errorf(errdefs.ErrUnavailable, "machine %q is not running; start it with: skiff machine start", m.spec.Name)
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

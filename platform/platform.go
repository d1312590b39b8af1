// Package platform describes a machine as plain data (MachineSpec) and keeps
// the registry of the drivers that run one. It compiles on every OS and
// imports no hypervisor SDK: each driver lives in a subpackage (native,
// and later qemu, vz, hcs), registers itself from an init function, and
// translates the spec into whatever its hypervisor or process needs.
// Connecting to the agent, and deciding when to start a machine, is left
// to host/machine.
package platform

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/containerd/errdefs"
)

// ErrNotSupported is returned by a driver asked for something its OS or
// build cannot do (the native driver on macOS, say).
var ErrNotSupported = errorf(errdefs.ErrNotImplemented, "not supported on this platform")

// maxSocketPath is the shortest sun_path limit of the host OSes (104 bytes
// on macOS, 108 on Linux and Windows, both counting the final NUL).
const maxSocketPath = 103

var namePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// MachineSpec is everything a driver needs to run one machine. It is plain
// data, built and validated the same way on every OS.
type MachineSpec struct {
	// Name is the machine's name ("default").
	Name string
	// Dir is the machine's private state directory (mode 0700).
	Dir string
	// Driver names the registered driver that runs the machine.
	Driver string
	// CPUs and MemoryMiB size a VM; 0 lets the driver choose. The native
	// driver ignores both.
	CPUs      int
	MemoryMiB int
	// AgentSocket is the unix socket on the host on which the agent (or
	// the host daemon relaying to it) accepts gRPC connections.
	AgentSocket string
	// AgentBinary is the skiff-agent executable. The native driver runs it
	// on the host; VM drivers boot an initramfs that embeds it instead.
	AgentBinary string
	// AgentRoot is the agent's state directory (images, containers).
	AgentRoot string
	// SeedImages are image archives the agent loads on first start.
	SeedImages []string
	// Log receives the agent's (or the VM console's) output.
	Log string
	// PIDFile records the process that owns the machine.
	PIDFile string
}

// Validate reports the first field that no driver could work with.
func (s MachineSpec) Validate() error {
	var errs []error
	if !namePattern.MatchString(s.Name) {
		errs = append(errs, fmt.Errorf("machine name %q: use letters, digits, '_', '.' and '-', starting with a letter or digit", s.Name))
	}
	if s.Driver == "" {
		errs = append(errs, errors.New("machine driver is not set"))
	}
	for _, p := range []struct{ field, path string }{
		{"state directory", s.Dir},
		{"agent socket", s.AgentSocket},
		{"agent root", s.AgentRoot},
		{"log", s.Log},
		{"pid file", s.PIDFile},
	} {
		if !filepath.IsAbs(p.path) {
			errs = append(errs, fmt.Errorf("machine %s %q is not an absolute path", p.field, p.path))
		}
	}
	if len(s.AgentSocket) > maxSocketPath {
		errs = append(errs, fmt.Errorf("agent socket path %q is %d bytes, longer than the %d a unix socket allows; set SKIFF_HOME to a shorter directory", s.AgentSocket, len(s.AgentSocket), maxSocketPath))
	}
	if s.CPUs < 0 {
		errs = append(errs, fmt.Errorf("machine CPUs %d is negative", s.CPUs))
	}
	if s.MemoryMiB < 0 {
		errs = append(errs, fmt.Errorf("machine memory %d MiB is negative", s.MemoryMiB))
	}
	if err := errors.Join(errs...); err != nil {
		return errorf(errdefs.ErrInvalidArgument, "%s", err.Error())
	}
	return nil
}

// Driver runs machines of one kind. Its methods may be called from several
// processes at once for the same spec (two CLI commands racing to start the
// machine); a driver makes Start and Stop safe for that, and idempotent.
type Driver interface {
	// Start brings the machine up and returns once its agent accepts
	// connections on spec.AgentSocket, or ctx ends. Starting a running
	// machine is not an error.
	Start(ctx context.Context, spec MachineSpec) error
	// Stop ends the machine once its agent has been asked to shut down:
	// it waits for the owner process to exit until ctx ends, then stops it
	// by force, and removes the socket and pid file. Stopping a stopped
	// machine is not an error.
	Stop(ctx context.Context, spec MachineSpec) error
}

var (
	mu      sync.RWMutex
	drivers = map[string]Driver{}
)

// Register makes a driver available by name. It is meant for init
// functions and panics on a duplicate, which is a build mistake.
func Register(name string, d Driver) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := drivers[name]; dup {
		panic(fmt.Sprintf("platform: driver %q registered twice", name))
	}
	drivers[name] = d
}

// Lookup returns the driver registered as name.
func Lookup(name string) (Driver, error) {
	mu.RLock()
	d, ok := drivers[name]
	mu.RUnlock()
	if ok {
		return d, nil
	}
	known := Drivers()
	if len(known) == 0 {
		return nil, errorf(errdefs.ErrNotFound, "unknown machine driver %q: this build of skiff has no machine drivers for %s yet", name, runtime.GOOS)
	}
	return nil, errorf(errdefs.ErrNotFound, "unknown machine driver %q; use one of: %s", name, strings.Join(known, ", "))
}

// Drivers returns the registered driver names, sorted.
func Drivers() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, 0, len(drivers))
	for n := range drivers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
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

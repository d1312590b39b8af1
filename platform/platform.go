// Package platform describes a machine as plain data (MachineSpec), builds
// the guest's kernel command line from it (GuestArgs, written by
// guest/api/wire), and keeps the registry of the drivers that run one
// (Register, Lookup, Drivers). It compiles on every OS and imports no
// hypervisor SDK: each driver lives in a subpackage (native, qemu, vz,
// hcs), registers itself from an init function, and translates the spec
// into whatever its hypervisor or process needs. What a driver offers is
// an interface each, found by type assertion:
//
//   - Driver: Start a machine from a spec (every driver);
//   - Machine: a started machine's agent connection, Wait and Stop;
//   - Detached: machines that outlive the command (native), found again
//     with Attach;
//   - Accelerated: whether the host accelerates the VM (qemu's KVM probe);
//   - Checker: checks of the spec and the host before a start, where the
//     user sees them;
//   - Described: what a running VM made of the spec (RunInfo).
//
// Owning a VM for its lifetime, relaying to its agent and deciding when to
// start a machine are left to host/machine.
package platform

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/containerd/errdefs"

	"github.com/skiffrun/skiff/guest/api/errclass"
)

// ErrNotSupported is returned by a driver asked for something its OS or
// build cannot do (the native driver on macOS, say).
var ErrNotSupported = errclass.Errorf(errdefs.ErrNotImplemented, "not supported on this platform")

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
		return nil, errclass.Errorf(errdefs.ErrNotFound, "unknown machine driver %q: this build of skiff has no machine drivers for %s yet", name, runtime.GOOS)
	}
	return nil, errclass.Errorf(errdefs.ErrNotFound, "unknown machine driver %q; use one of: %s", name, strings.Join(known, ", "))
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

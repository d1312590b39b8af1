package platform

import (
	"context"
	"net"
)

// Driver starts machines of one kind.
//
// Start may be called from several processes at once for the same spec
// (two CLI commands racing to start the machine); a driver makes that safe.
type Driver interface {
	// Start brings up the machine described by spec and returns it once
	// it runs, or when ctx ends. It does not wait for the agent: call
	// Machine.AgentConn for that. A driver whose machines run detached
	// (see Detached) treats starting a running machine as no error.
	Start(ctx context.Context, spec MachineSpec) (Machine, error)
}

// Machine is one running machine. Its methods are safe for concurrent use.
//
// Call order: AgentConn any number of times while the machine runs (after
// a dropped connection, to dial again); Wait from any goroutine; Stop at
// most once that matters (later calls return at once, as does Wait).
type Machine interface {
	// AgentConn returns a raw byte stream to the agent: the agent's gRPC
	// socket for native, the vsock or virtio-serial channel of a VM, on
	// which the caller speaks the handshake and yamux. It retries until it
	// connects or ctx ends.
	AgentConn(ctx context.Context) (net.Conn, error)
	// Wait blocks until the machine has stopped, or ctx ends. It returns
	// nil when the machine stopped cleanly (powered off), and an error
	// saying why otherwise.
	Wait(ctx context.Context) error
	// Stop asks the guest to power off, waits for it until ctx ends, then
	// stops it by force and releases what the driver holds for it (helper
	// processes, sockets, pid files). Stopping a stopped machine is not an
	// error.
	Stop(ctx context.Context) error
}

// Detached is implemented by drivers whose machines run on their own once
// started, outliving the process that started them, and serve the agent's
// gRPC directly on spec.AgentSocket (native). host/machine runs no host
// daemon for them: the CLI connects to the socket itself, and a later
// process finds the machine again with Attach.
type Detached interface {
	Driver
	// Attach returns the machine described by spec when it runs, and an
	// error for which errdefs.IsNotFound holds when it does not.
	Attach(ctx context.Context, spec MachineSpec) (Machine, error)
}

// Accelerated is implemented by VM drivers that can tell whether this host
// runs their machines with hardware virtualization (KVM, say). host/machine
// prefers such a driver only when it is. The answer may cost a trial boot
// the first time and is cached by the driver.
type Accelerated interface {
	Driver
	// Accelerated reports whether machines like spec run accelerated.
	Accelerated(ctx context.Context, spec MachineSpec) bool
}

// Checker is implemented by drivers that can tell, before a start, that
// this host can run spec (the hypervisor installed, the guest image
// intact), so that host/machine reports the problem to the user rather
// than to a daemon's log. Check is cheap enough to run on every start.
type Checker interface {
	Driver
	Check(spec MachineSpec) error
}

// Described is implemented by machines that can say how they run, for
// `skiff machine status`.
type Described interface {
	Machine
	// RunInfo describes the running machine; it does not block.
	RunInfo() RunInfo
}

// RunInfo is how a machine runs: what its driver resolved from the spec.
type RunInfo struct {
	// PID is the hypervisor's process.
	PID int
	// Accel is the acceleration: "kvm", "tcg", "hvf".
	Accel     string
	CPUs      int
	MemoryMiB int
}

// MemoryReport is what a running guest says of its memory, in bytes.
type MemoryReport struct {
	Total, Available uint64
}

// Ballooner is implemented by machines whose memory balloon the host
// steers (vz, whose balloon has no free page reporting of its own).
// RunBalloon asks report every little while and lowers the guest's
// memory target while it has memory to spare, raising it again as it runs
// short, until ctx ends; it returns ctx's error.
type Ballooner interface {
	RunBalloon(ctx context.Context, report func(context.Context) (MemoryReport, error)) error
}

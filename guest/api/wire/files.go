package wire

// Files in a machine's directory ($SKIFF_HOME/machines/NAME) that more
// than one program or package finds by name: the CLI, the host daemon,
// the native driver and the agent it runs, and the scripts that measure
// them.
const (
	// SocketFile is the machine's gRPC socket: the native agent's own, or
	// the host daemon's, which relays to the agent in the VM.
	SocketFile = "skiff.sock"
	// AgentPIDFile records the native agent's process.
	AgentPIDFile = "agent.pid"
	// AgentLogFile receives the native agent's output.
	AgentLogFile = "agent.log"
	// ConsoleLogFile receives a VM's console.
	ConsoleLogFile = "console.log"
	// StartLockFile is held while a command starts the machine (the
	// native driver, or host/machine spawning the host daemon) and while
	// one removes it, so no start runs while its files go.
	StartLockFile = "start.lock"
	// DaemonLockFile is held by a VM's host daemon for its life.
	DaemonLockFile = "daemon.lock"
	// DaemonPIDFile records the host daemon's process.
	DaemonPIDFile = "daemon.pid"
)

// AgentPath is where the machine's initramfs has skiff-agent; its /init is
// a symbolic link to it. libcontainer starts each container's init from
// a sealed view of the agent's binary: an overlayfs of the binary's
// folder when that folder holds none of libcontainer's state, and
// otherwise a copy of the whole binary into memory, which under
// emulation took most of a container's start. The root folder holds all
// of it, /usr/bin none.
const AgentPath = "/usr/bin/skiff-agent"

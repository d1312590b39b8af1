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

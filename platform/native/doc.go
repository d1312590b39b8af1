// Package native is the machine driver that runs skiff-agent directly on a
// Linux host, as a background daemon, with no VM: fast tests, and Linux
// users who want none. It starts the agent in its own session with its
// output appended to the machine's log and its pid in the machine's pid
// file, and stops it by pid. Asking the agent to shut down first is left to
// host/machine, which holds the gRPC client. On other OSes the driver
// registers but its methods return platform.ErrNotSupported.
package native

// Package runner runs a container's processes with libcontainer, in the
// agent's own process: it turns an OCI runtime spec into a libcontainer
// container, starts its first process with the caller's stdio or a pty,
// execs more processes into it, signals it, and destroys it (cgroups and
// state) once it has stopped. It keeps no state of its own beyond
// libcontainer's; lifecycle, logs and restart policies belong to
// guest/container.
package runner

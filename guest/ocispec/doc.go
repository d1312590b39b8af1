// Package ocispec builds the OCI runtime spec of a container with Docker's
// defaults: the default capability set, masked and read-only paths, the
// default seccomp profile, private pid/mount/uts/ipc/net namespaces, and
// cgroup limits. It only describes; running the spec is guest/runner's job.
package ocispec

// Package testcontainers holds end-to-end tests (build tag e2e) that drive
// a skiff machine's Docker API socket with testcontainers-go, a client
// skiff did not write: containers with wait strategies, exec, copies in and
// out, and networks with aliases.
package testcontainers

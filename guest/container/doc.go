// Package container manages the agent's containers: their records (kept
// on disk, written atomically, so that an agent started again after being
// killed lists every container with its logs and state), their lifecycle
// (create, start, stop, kill, restart, remove, rename), restart policies
// with Docker's semantics, standard streams and attached clients, exec,
// and logs. It serves the Containers gRPC service. Running processes is
// left to guest/runner, images to guest/image.
package container

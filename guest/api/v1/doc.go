// Package apiv1 is skiff-agent's gRPC contract (skiff.agent.v1): the
// containers, images and system services that the CLI and the host daemon
// call. The .pb.go files are generated from agent.proto by
// scripts/generate; errors cross it as gRPC status codes that map to
// containerd/errdefs categories.
package apiv1

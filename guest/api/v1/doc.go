// Package apiv1 is skiff-agent's gRPC contract (skiff.agent.v1): the
// containers, images and system services that the CLI and the host daemon
// call, and the host services that the agent calls back on the host
// daemon (HostPorts, in hostports.proto). The .pb.go files are generated
// from the .proto files by scripts/generate; errors cross it as gRPC
// status codes that map to containerd/errdefs categories.
package apiv1

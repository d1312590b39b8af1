// Package agentclient is the CLI's gRPC connection to skiff-agent: one
// lazily dialled client connection and a client of each of the agent's
// services on it:
//
//   - Containers: create, start, attach, exec, wait, stop, kill, restart,
//     remove, rename, list, inspect, top, prune and logs;
//   - Freezer: pause and unpause;
//   - Images: load, list, inspect, tag, remove, pull, push, save, import
//     and prune;
//   - History: an image's history entries;
//   - Committer: a container's changes as a new image;
//   - Changes and Exporter: a container's changed paths and its root as a
//     tar;
//   - Updater: a container's resources and restart policy;
//   - DiskUsage: the bytes images, containers and volumes take;
//   - Builder: build from a context stream;
//   - Volumes: create, inspect, list, remove and prune;
//   - Networks: create, list, inspect, remove, connect, disconnect and
//     prune;
//   - Events: the agent's event stream;
//   - System: version, info, shutdown and the machine's clock (SetTime).
//
// It translates gRPC statuses back into containerd/errdefs categories
// (and exit codes) at this edge, the mirror of the agent's
// guest/api/errstatus. HostPorts is the other way round (the agent calls
// the host daemon) and is served by host/publish, not here. Deciding what
// to dial, and starting a machine that does not answer, is left to the
// caller's dial function (see host/machine).
package agentclient

// Package agent assembles skiff-agent: it opens the image store, the
// container manager, the volumes, the container networks, the event bus
// and the builder under one root, and serves their gRPC services on any
// net.Listener: Containers, Freezer, Archive, Stats and Updater
// (guest/container),
// Images and ImageHistory (guest/image), Volumes (guest/volume),
// Networks (guest/network), Builder (guest/build), Events
// (guest/events), and its own Committer, Changes and Exporter (a
// container's layer read by guest/layer), DiskUsage and System (version,
// info, the machine's clock, shutdown). The services return plain errors in
// containerd/errdefs categories; the server's interceptors
// (guest/api/errstatus) turn them into statuses, and every request but
// System's waits until the system can run containers. It also loads the
// bundled images on first start and stops every container on shutdown.
// PID 1 duties, the connection to the host and the host's own HostPorts
// service (which guest/publish calls) belong to the callers.
package agent

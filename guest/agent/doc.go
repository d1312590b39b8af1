// Package agent assembles skiff-agent: it opens the image store and the
// container manager under one root, serves their gRPC services and the
// system service on any net.Listener, loads the bundled images on first
// start, and stops every container on shutdown. PID 1 duties and the
// connection to the host belong to the callers.
package agent

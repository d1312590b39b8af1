// Package publish is the agent's side of published ports: Local listens
// on the ports itself (the native driver, whose agent runs on the host)
// and dials each connection from inside the container's network
// namespace; Host has the host daemon of a VM listen on them instead,
// over the HostPorts service the daemon serves. The listening and the
// carrying are guest/api/portfwd's; deciding which ports a container
// publishes is guest/network's.
package publish

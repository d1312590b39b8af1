package machine

import (
	"net"

	"github.com/skiffrun/skiff/host/hostsvc"
	"github.com/skiffrun/skiff/host/publish"
)

// hostServices are the services the host daemon serves the agent over
// their session (host/hostsvc): HostPorts, the published ports, on its
// gRPC server. A new host service registers here, on the daemon's one
// Registry: typed ones with RegisterGRPC, raw byte streams (the Docker
// API behind the machine's /var/run/docker.sock) with Listen.
func hostServices() *hostsvc.Registry {
	reg := hostsvc.New()
	publish.Register(reg)
	return reg
}

// ListenGuest returns the streams the machine's agent opens to the raw
// host service name (wire.ServiceDocker, for the machine's
// /var/run/docker.sock). Only a VM's host daemon has the agent's streams,
// for the Services it runs; elsewhere (a detached machine's Docker API
// process) there are none and the listener is nil.
func (m *Machine) ListenGuest(name string) (net.Listener, error) {
	if m.services == nil {
		return nil, nil
	}
	return m.services.Listen(name)
}

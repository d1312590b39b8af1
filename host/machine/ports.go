package machine

import (
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

package machine

import (
	"net"

	"github.com/skiffrun/skiff/host/fswatch"
	"github.com/skiffrun/skiff/host/hostsvc"
	"github.com/skiffrun/skiff/host/publish"
	"github.com/skiffrun/skiff/platform"
)

// hostServices are the services the host daemon serves the agent over
// their session (host/hostsvc), on its gRPC server: HostPorts, the
// published ports, and FileEvents, the changes in the shared folders
// (shares). A new host service registers here, on the daemon's one
// Registry: typed ones with RegisterGRPC, raw byte streams (the Docker
// API behind the machine's /var/run/docker.sock) with Listen.
func hostServices(shares []platform.Share) *hostsvc.Registry {
	reg := hostsvc.New()
	publish.Register(reg)
	var watched []fswatch.Share
	for _, sh := range shares {
		watched = append(watched, fswatch.Share{Tag: sh.Tag, Dir: sh.HostPath})
	}
	fswatch.Register(reg, watched, fswatch.Options{})
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

package containers

import (
	"strconv"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// InspectPortBinding is one of docker's port bindings; HostPort is a
// string in docker's JSON.
type InspectPortBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string
}

// InspectEndpoint is docker's NetworkSettings.Networks[name].
type InspectEndpoint struct {
	Aliases     []string
	NetworkID   string
	Gateway     string
	IPAddress   string
	IPPrefixLen int
	MacAddress  string
}

// InspectNetworkSettings is docker's NetworkSettings, with the primary
// network's address at the top level as docker shows it.
type InspectNetworkSettings struct {
	SandboxKey  string
	Ports       map[string][]InspectPortBinding
	Gateway     string
	IPAddress   string
	IPPrefixLen int
	MacAddress  string
	Networks    map[string]InspectEndpoint
}

// portMap groups bindings by "port/proto", as docker's JSON does.
func portMap(bs []*apiv1.PortBinding) map[string][]InspectPortBinding {
	m := map[string][]InspectPortBinding{}
	for _, b := range sortedPorts(bs) {
		hp := ""
		if b.HostPort != 0 {
			hp = strconv.Itoa(int(b.HostPort))
		}
		m[portKey(b)] = append(m[portKey(b)], InspectPortBinding{HostIP: b.HostIp, HostPort: hp})
	}
	return m
}

// inspectNetwork fills the network parts of docker's inspect.
func inspectNetwork(c *apiv1.Container, out *Inspect) {
	ns, hc := c.GetNetworkSettings(), c.GetHostConfig()
	s := InspectNetworkSettings{SandboxKey: ns.GetSandboxKey(), Ports: portMap(ns.GetPorts()), Networks: map[string]InspectEndpoint{}}
	for name, ep := range ns.GetNetworks() {
		e := InspectEndpoint{
			Aliases: ep.GetAliases(), NetworkID: ep.GetNetworkId(), Gateway: ep.GetGateway(),
			IPAddress: ep.GetIpAddress(), IPPrefixLen: int(ep.GetIpPrefixLen()), MacAddress: ep.GetMacAddress(),
		}
		s.Networks[name] = e
		mode := hc.GetNetworkMode()
		if name == mode || (name == "bridge" && (mode == "" || mode == "default")) {
			s.Gateway, s.IPAddress, s.IPPrefixLen, s.MacAddress = e.Gateway, e.IPAddress, e.IPPrefixLen, e.MacAddress
		}
	}
	// The container's own ports that are exposed but not published show
	// with no bindings while it runs, as docker shows them.
	if c.GetState().GetRunning() {
		for _, p := range c.GetConfig().GetExposedPorts() {
			if _, ok := s.Ports[p]; !ok {
				s.Ports[p] = nil
			}
		}
	}
	out.NetworkSettings = s
	out.HostConfig.PortBindings = portMap(hc.GetPortBindings())
	out.HostConfig.PublishAllPorts = hc.GetPublishAll()
	if exp := c.GetConfig().GetExposedPorts(); len(exp) > 0 {
		out.Config.ExposedPorts = map[string]struct{}{}
		for _, p := range exp {
			out.Config.ExposedPorts[p] = struct{}{}
		}
	}
}

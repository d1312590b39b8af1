package hcs

import (
	"fmt"
	"log"

	"github.com/Microsoft/hcsshim/hcn"

	"github.com/skiffrun/skiff/platform"
)

// natEndpoint creates the machine's endpoint in skiff's NAT network
// (creating the network on first use), after removing one a killed daemon
// left behind, and returns it with the guest's network configuration.
func natEndpoint(name string) (*hcn.HostComputeEndpoint, platform.Network, error) {
	nw, err := natNetwork()
	if err != nil {
		return nil, platform.Network{}, err
	}
	if old, err := hcn.GetEndpointByName(name); err == nil {
		if err := old.Delete(); err != nil {
			log.Printf("skiff: remove the stale network endpoint %s: %v", name, err)
		}
	}
	ep, err := nw.CreateEndpoint(&hcn.HostComputeEndpoint{Name: name, SchemaVersion: hcn.V2SchemaVersion()})
	if err != nil {
		return nil, platform.Network{}, fmt.Errorf("hcs: create the machine's endpoint in network %q: %w; %s", natNetworkName, err, Advice(hcsServiceNotAvailable))
	}
	cfg := endpointConfig{Gateway: gatewayOf(ep, nw), DNS: ep.Dns.ServerList}
	if len(ep.IpConfigurations) > 0 {
		cfg.IP, cfg.Prefix = ep.IpConfigurations[0].IpAddress, ep.IpConfigurations[0].PrefixLength
	}
	n, err := guestNetwork(cfg)
	if err != nil {
		_ = ep.Delete()
		return nil, platform.Network{}, err
	}
	return ep, n, nil
}

// natNetwork finds skiff's NAT network in HNS, or creates it.
func natNetwork() (*hcn.HostComputeNetwork, error) {
	nw, err := hcn.GetNetworkByName(natNetworkName)
	if err == nil {
		return nw, nil
	}
	if !hcn.IsNotFoundError(err) {
		return nil, fmt.Errorf("hcs: look up network %q: %w; the Host Network Service (hns) must run: %s", natNetworkName, err, Advice(hcsServiceNotAvailable))
	}
	want := &hcn.HostComputeNetwork{
		Name: natNetworkName,
		Type: hcn.NAT,
		Ipams: []hcn.Ipam{{Type: "Static", Subnets: []hcn.Subnet{{
			IpAddressPrefix: natSubnet,
			Routes:          []hcn.Route{{NextHop: natGateway, DestinationPrefix: "0.0.0.0/0"}},
		}}}},
		SchemaVersion: hcn.V2SchemaVersion(),
	}
	nw, err = want.Create()
	if err != nil {
		// Another machine's start may have created it meanwhile.
		if again, gerr := hcn.GetNetworkByName(natNetworkName); gerr == nil {
			return again, nil
		}
		return nil, fmt.Errorf("hcs: create NAT network %q (%s): %w; if another network uses %s, remove it or the skiff network (Get-HnsNetwork | Where Name -eq %s | Remove-HnsNetwork)", natNetworkName, natSubnet, err, natSubnet, natNetworkName)
	}
	return nw, nil
}

// gatewayOf is the endpoint's default route, else its network's.
func gatewayOf(ep *hcn.HostComputeEndpoint, nw *hcn.HostComputeNetwork) string {
	for _, r := range ep.Routes {
		if r.DestinationPrefix == "0.0.0.0/0" && r.NextHop != "" {
			return r.NextHop
		}
	}
	for _, ipam := range nw.Ipams {
		for _, s := range ipam.Subnets {
			for _, r := range s.Routes {
				if r.NextHop != "" {
					return r.NextHop
				}
			}
		}
	}
	return ""
}

// removeEndpoint deletes ep; one already gone is no error.
func removeEndpoint(ep *hcn.HostComputeEndpoint) error {
	if ep == nil {
		return nil
	}
	if err := ep.Delete(); err != nil && !hcn.IsNotFoundError(err) {
		return fmt.Errorf("hcs: remove network endpoint %s: %w", ep.Name, err)
	}
	return nil
}

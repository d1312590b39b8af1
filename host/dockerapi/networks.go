package dockerapi

import (
	"net/http"

	"github.com/moby/moby/api/types/network"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/networks"
)

func (s *Server) networkRoutes() {
	s.handle("GET /networks", s.listNetworks)
	s.handle("POST /networks/create", s.createNetwork)
	s.handle("GET /networks/{id}", s.inspectNetwork)
	s.handle("DELETE /networks/{id}", s.removeNetwork)
	s.handle("POST /networks/{id}/connect", s.connectNetwork)
	s.handle("POST /networks/{id}/disconnect", s.disconnectNetwork)
	s.handle("POST /networks/prune", s.pruneNetworks)
}

// networkCreate is docker's create body, the fields skiff acts on.
type networkCreate struct {
	Name       string
	Driver     string
	Internal   bool
	Attachable bool
	EnableIPv6 *bool
	IPAM       *struct {
		Driver string
		Config []struct {
			Subnet  string
			Gateway string
			IPRange string
		}
	}
	Options map[string]string
	Labels  map[string]string
}

func (s *Server) createNetwork(w http.ResponseWriter, r *http.Request) error {
	var req networkCreate
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Name == "" {
		return badRequest("a network needs a name")
	}
	if req.EnableIPv6 != nil && *req.EnableIPv6 {
		return badRequest("skiff's networks are IPv4 only; leave out --ipv6")
	}
	creq := &apiv1.CreateNetworkRequest{Name: req.Name, Driver: req.Driver, Labels: req.Labels, Internal: req.Internal}
	if req.IPAM != nil {
		if len(req.IPAM.Config) > 1 {
			return badRequest("skiff's networks have one subnet; give at most one")
		}
		if len(req.IPAM.Config) == 1 {
			creq.Subnet, creq.Gateway = req.IPAM.Config[0].Subnet, req.IPAM.Config[0].Gateway
		}
	}
	n, err := s.b.Client.Networks.Create(r.Context(), creq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, network.CreateResponse{ID: n.GetId(), Warning: ""})
	return nil
}

func (s *Server) listNetworks(w http.ResponseWriter, r *http.Request) error {
	f, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	resp, err := s.b.Client.Networks.List(r.Context(), &apiv1.ListNetworksRequest{Filters: agentFilters(f)})
	if err != nil {
		return err
	}
	out := []networks.Inspect{}
	for _, n := range resp.GetNetworks() {
		out = append(out, networks.NewInspect(n))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) inspectNetwork(w http.ResponseWriter, r *http.Request) error {
	n, err := s.b.Client.Networks.Inspect(r.Context(), &apiv1.NetworkRef{Id: r.PathValue("id")})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, networks.NewInspect(n))
	return nil
}

func (s *Server) removeNetwork(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.b.Client.Networks.Remove(r.Context(), &apiv1.NetworkRef{Id: r.PathValue("id")}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) connectNetwork(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Container      string
		EndpointConfig *struct{ Aliases []string }
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	creq := &apiv1.ConnectNetworkRequest{Network: r.PathValue("id"), Container: req.Container}
	if req.EndpointConfig != nil {
		creq.Aliases = req.EndpointConfig.Aliases
	}
	if _, err := s.b.Client.Networks.Connect(r.Context(), creq); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) disconnectNetwork(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Container string
		Force     bool
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if _, err := s.b.Client.Networks.Disconnect(r.Context(), &apiv1.DisconnectNetworkRequest{Network: r.PathValue("id"), Container: req.Container, Force: req.Force}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) pruneNetworks(w http.ResponseWriter, r *http.Request) error {
	f, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	resp, err := s.b.Client.Networks.Prune(r.Context(), &apiv1.PruneRequest{Filters: agentFilters(f)})
	if err != nil {
		return err
	}
	deleted := resp.GetDeleted()
	if deleted == nil {
		deleted = []string{}
	}
	writeJSON(w, http.StatusOK, network.PruneReport{NetworksDeleted: deleted})
	return nil
}

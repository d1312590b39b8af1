package network

import (
	"context"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// Containers finds the container a network request names.
type Containers interface {
	// Lookup resolves a container's id, name or id prefix.
	Lookup(ref string) (Container, error)
}

// Service serves the Networks gRPC API from a Manager.
type Service struct {
	apiv1.UnimplementedNetworksServer
	m          *Manager
	containers Containers
}

var _ apiv1.NetworksServer = (*Service)(nil)

// NewService returns the gRPC service of m.
func NewService(m *Manager, containers Containers) *Service {
	return &Service{m: m, containers: containers}
}

func (s *Service) Create(_ context.Context, req *apiv1.CreateNetworkRequest) (*apiv1.Network, error) {
	return s.m.Create(CreateOptions{Name: req.Name, Driver: req.Driver, Subnet: req.Subnet, Gateway: req.Gateway, Labels: req.Labels, Internal: req.Internal})
}

func (s *Service) List(_ context.Context, req *apiv1.ListNetworksRequest) (*apiv1.ListNetworksResponse, error) {
	filters := map[string][]string{}
	for k, v := range req.Filters {
		filters[k] = v.GetValues()
	}
	nets, err := s.m.List(filters)
	if err != nil {
		return nil, err
	}
	return &apiv1.ListNetworksResponse{Networks: nets}, nil
}

func (s *Service) Inspect(_ context.Context, req *apiv1.NetworkRef) (*apiv1.Network, error) {
	return s.m.Inspect(req.Id)
}

func (s *Service) Remove(_ context.Context, req *apiv1.NetworkRef) (*apiv1.Empty, error) {
	return &apiv1.Empty{}, s.m.Remove(req.Id)
}

func (s *Service) Connect(_ context.Context, req *apiv1.ConnectNetworkRequest) (*apiv1.Empty, error) {
	c, err := s.containers.Lookup(req.Container)
	if err != nil {
		return nil, err
	}
	return &apiv1.Empty{}, s.m.Connect(c, req.Network, req.Aliases)
}

func (s *Service) Disconnect(_ context.Context, req *apiv1.DisconnectNetworkRequest) (*apiv1.Empty, error) {
	c, err := s.containers.Lookup(req.Container)
	if err != nil {
		return nil, err
	}
	return &apiv1.Empty{}, s.m.Disconnect(c, req.Network)
}

func (s *Service) Prune(_ context.Context, _ *apiv1.PruneRequest) (*apiv1.PruneNetworksResponse, error) {
	names, err := s.m.Prune()
	return &apiv1.PruneNetworksResponse{Deleted: names}, err
}

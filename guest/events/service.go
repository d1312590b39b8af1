package events

import (
	"fmt"

	"github.com/containerd/errdefs"
	"google.golang.org/grpc"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// Service serves the Events gRPC API from a Bus.
type Service struct {
	apiv1.UnimplementedEventsServer
	b *Bus
}

var _ apiv1.EventsServer = (*Service)(nil)

// NewService returns the gRPC service of b.
func NewService(b *Bus) *Service { return &Service{b: b} }

// Events streams the events req selects.
func (s *Service) Events(req *apiv1.EventsRequest, stream grpc.ServerStreamingServer[apiv1.Event]) error {
	if req.GetSince() < 0 || req.GetUntil() < 0 || (req.GetUntil() > 0 && req.GetSince() > req.GetUntil()) {
		return fmt.Errorf("invalid time range: --since must come before --until: %w", errdefs.ErrInvalidArgument)
	}
	match, err := Filter(req.GetFilters())
	if err != nil {
		return err
	}
	// Send the headers at once, so a client knows it is subscribed
	// before the first event.
	if err := stream.SendHeader(nil); err != nil {
		return err
	}
	return s.b.Subscribe(stream.Context(), req.GetSince(), req.GetUntil(), match, stream.Send)
}

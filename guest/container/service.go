package container

import (
	"context"
	"time"

	"github.com/containerd/errdefs"
	"google.golang.org/grpc"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// Service serves the Containers gRPC API from a Manager.
type Service struct {
	apiv1.UnimplementedContainersServer
	m *Manager
}

var _ apiv1.ContainersServer = (*Service)(nil)

// NewService returns the gRPC service of m.
func NewService(m *Manager) *Service { return &Service{m: m} }

func (s *Service) Create(ctx context.Context, req *apiv1.CreateContainerRequest) (*apiv1.CreateContainerResponse, error) {
	return s.m.Create(ctx, req)
}

func (s *Service) Start(ctx context.Context, req *apiv1.ContainerRef) (*apiv1.Empty, error) {
	return &apiv1.Empty{}, s.m.Start(ctx, req.Id)
}

func (s *Service) Wait(ctx context.Context, req *apiv1.WaitRequest) (*apiv1.WaitResponse, error) {
	code, msg, err := s.m.Wait(ctx, req.Id, req.Condition)
	if err != nil {
		return nil, err
	}
	return &apiv1.WaitResponse{ExitCode: code, Error: msg}, nil
}

func stopTimeout(req *apiv1.StopRequest) time.Duration {
	if !req.TimeoutSet || req.Timeout < 0 {
		return -1
	}
	return time.Duration(req.Timeout) * time.Second
}

func (s *Service) Stop(ctx context.Context, req *apiv1.StopRequest) (*apiv1.Empty, error) {
	return &apiv1.Empty{}, s.m.Stop(ctx, req.Id, stopTimeout(req), req.Signal)
}

func (s *Service) Restart(ctx context.Context, req *apiv1.StopRequest) (*apiv1.Empty, error) {
	return &apiv1.Empty{}, s.m.Restart(ctx, req.Id, stopTimeout(req), req.Signal)
}

func (s *Service) Kill(ctx context.Context, req *apiv1.KillRequest) (*apiv1.Empty, error) {
	return &apiv1.Empty{}, s.m.Kill(ctx, req.Id, req.Signal)
}

func (s *Service) Remove(ctx context.Context, req *apiv1.RemoveRequest) (*apiv1.Empty, error) {
	return &apiv1.Empty{}, s.m.Remove(ctx, req.Id, req.Force, req.Volumes)
}

func (s *Service) Rename(ctx context.Context, req *apiv1.RenameRequest) (*apiv1.Empty, error) {
	return &apiv1.Empty{}, s.m.Rename(req.Id, req.NewName)
}

func (s *Service) List(ctx context.Context, req *apiv1.ListContainersRequest) (*apiv1.ListContainersResponse, error) {
	cs, err := s.m.List(req)
	if err != nil {
		return nil, err
	}
	return &apiv1.ListContainersResponse{Containers: cs}, nil
}

func (s *Service) Inspect(ctx context.Context, req *apiv1.ContainerRef) (*apiv1.Container, error) {
	return s.m.Inspect(req.Id)
}

func (s *Service) Top(ctx context.Context, req *apiv1.TopRequest) (*apiv1.TopResponse, error) {
	return s.m.Top(req.Id)
}

func (s *Service) Prune(ctx context.Context, req *apiv1.PruneRequest) (*apiv1.PruneResponse, error) {
	keep, err := PruneFilter(req.Filters)
	if err != nil {
		return nil, err
	}
	ids, space, err := s.m.Prune(ctx, func(c *ctr) bool { return keep(c.snapshot()) })
	if err != nil {
		return nil, err
	}
	return &apiv1.PruneResponse{Deleted: ids, SpaceReclaimed: space}, nil
}

func (s *Service) Logs(req *apiv1.LogsRequest, stream grpc.ServerStreamingServer[apiv1.LogEntry]) error {
	return s.m.Logs(stream.Context(), req, stream.Send)
}

// Attach serves one attached client; see the API's description.
func (s *Service) Attach(stream grpc.BidiStreamingServer[apiv1.StreamInput, apiv1.StreamOutput]) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	req := first.GetAttach()
	if req == nil {
		return errdefs.ErrInvalidArgument.WithMessage("the first attach message must name the container")
	}
	c, err := s.m.get(req.Id)
	if err != nil {
		return err
	}
	sub := newSubscriber(req.Stdout, req.Stderr)
	defer close(sub.gone)
	if sz := req.GetSize(); sz != nil && sz.Width > 0 {
		c.setSize(uint16(sz.Width), uint16(sz.Height))
	}
	if err := c.attach(sub, req.Start || req.NextRun); err != nil {
		return err
	}
	defer c.detach(sub)
	if req.Start {
		if err := s.m.Start(stream.Context(), req.Id); err != nil {
			c.detach(sub)
			s.m.afterFailedStart(c)
			return err
		}
	}
	detached := make(chan struct{})
	go func() {
		for {
			in, err := stream.Recv()
			if err != nil {
				if req.Stdin {
					c.closeStdin()
				}
				return
			}
			switch msg := in.Msg.(type) {
			case *apiv1.StreamInput_Stdin:
				if req.Stdin {
					_ = c.writeStdin(msg.Stdin)
				}
			case *apiv1.StreamInput_CloseStdin:
				if req.Stdin {
					c.closeStdin()
				}
			case *apiv1.StreamInput_Resize:
				_ = c.resize(uint16(msg.Resize.Width), uint16(msg.Resize.Height))
			case *apiv1.StreamInput_Detach:
				close(detached)
				return
			}
		}
	}()
	for {
		select {
		case msg := <-sub.out:
			if err := stream.Send(msg); err != nil {
				return err
			}
		case <-sub.ended:
			// Drain what was queued before the end.
			for {
				select {
				case msg := <-sub.out:
					if err := stream.Send(msg); err != nil {
						return err
					}
				default:
					return nil
				}
			}
		case <-detached:
			return stream.Send(&apiv1.StreamOutput{Msg: &apiv1.StreamOutput_Exit{Exit: &apiv1.Exit{Detached: true}}})
		case <-stream.Context().Done():
			return nil
		}
	}
}

// afterFailedStart removes an auto-remove container whose start failed,
// as Docker does.
func (m *Manager) afterFailedStart(c *ctr) {
	c.mu.Lock()
	remove := c.rec.HostConfig.AutoRemove && c.run == nil
	c.mu.Unlock()
	if remove {
		if err := m.removeStopped(c); err != nil {
			m.log.Error("remove container after failed start", "id", c.rec.Id, "err", err)
		}
	}
}

// Exec runs one process in a container for one client.
func (s *Service) Exec(stream grpc.BidiStreamingServer[apiv1.StreamInput, apiv1.StreamOutput]) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	req := first.GetExec()
	if req == nil {
		return errdefs.ErrInvalidArgument.WithMessage("the first exec message must describe the process")
	}
	gone := make(chan struct{})
	defer close(gone)
	p, err := s.m.Exec(stream.Context(), req, gone)
	if err != nil {
		return err
	}
	if req.Detach {
		return stream.Send(&apiv1.StreamOutput{Msg: &apiv1.StreamOutput_Exit{Exit: &apiv1.Exit{Detached: true}}})
	}
	go func() {
		for {
			in, err := stream.Recv()
			if err != nil {
				if req.Stdin {
					p.CloseStdin()
				}
				return
			}
			switch msg := in.Msg.(type) {
			case *apiv1.StreamInput_Stdin:
				_ = p.WriteStdin(msg.Stdin)
			case *apiv1.StreamInput_CloseStdin:
				p.CloseStdin()
			case *apiv1.StreamInput_Resize:
				_ = p.Resize(uint16(msg.Resize.Width), uint16(msg.Resize.Height))
			}
		}
	}()
	for msg := range p.Output {
		if err := stream.Send(msg); err != nil {
			return err
		}
	}
	return nil
}

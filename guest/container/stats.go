package container

import (
	"fmt"
	"time"

	"github.com/containerd/errdefs"
	"google.golang.org/grpc"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// statsInterval is how often a stream of stats samples, docker's second.
const statsInterval = time.Second

// Stats sends samples of running container ref's usage: one (taken a
// second after a first, so CPU shares mean something), or with stream
// one a second until the container stops or done is closed.
func (m *Manager) Stats(ref string, stream bool, done <-chan struct{}, send func(*apiv1.ContainerStats) error) error {
	c, err := m.get(ref)
	if err != nil {
		return err
	}
	c.mu.Lock()
	ex := c.run
	id, name := c.rec.Id, c.rec.Name
	c.mu.Unlock()
	if ex == nil {
		return fmt.Errorf("container %s is not running: start it first (skiff start %s): %w", name, name, errdefs.ErrConflict)
	}
	var pre *apiv1.ContainerStats
	t := time.NewTicker(statsInterval)
	defer t.Stop()
	for {
		st, err := m.rt.Stats(id)
		if err != nil {
			select {
			case <-ex.done:
				return nil // it stopped meanwhile
			default:
				return err
			}
		}
		st.Name = name
		if pre != nil {
			st.PreRead, st.PreCpu = pre.Read, pre.Cpu
			if err := send(st); err != nil {
				return err
			}
			if !stream {
				return nil
			}
		}
		pre = st
		select {
		case <-t.C:
		case <-ex.done:
			return nil
		case <-done:
			return nil
		}
	}
}

// StatsService serves the Stats gRPC API from a Manager.
type StatsService struct {
	apiv1.UnimplementedStatsServer
	m *Manager
}

var _ apiv1.StatsServer = (*StatsService)(nil)

// NewStatsService returns the Stats service of m.
func NewStatsService(m *Manager) *StatsService { return &StatsService{m: m} }

func (s *StatsService) Stats(req *apiv1.StatsRequest, stream grpc.ServerStreamingServer[apiv1.ContainerStats]) error {
	return s.m.Stats(req.GetContainer(), req.GetStream(), stream.Context().Done(), stream.Send)
}

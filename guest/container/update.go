package container

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"
	"google.golang.org/protobuf/proto"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/ocispec"
)

// Update changes what req sets of container ref's resources and restart
// policy: in its record, which later starts use, and, when it runs, in
// its cgroup at once.
func (m *Manager) Update(ctx context.Context, req *apiv1.UpdateRequest) (*apiv1.UpdateResponse, error) {
	c, err := m.get(req.GetId())
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.removed {
		return nil, fmt.Errorf("No such container: %s: %w", req.GetId(), errdefs.ErrNotFound)
	}
	hc := proto.Clone(c.rec.GetHostConfig()).(*apiv1.HostConfig)
	if hc == nil {
		hc = &apiv1.HostConfig{}
	}
	set := func(dst *int64, v *int64) {
		if v != nil {
			*dst = *v
		}
	}
	set(&hc.Memory, req.Memory)
	set(&hc.MemorySwap, req.MemorySwap)
	set(&hc.MemoryReservation, req.MemoryReservation)
	set(&hc.NanoCpus, req.NanoCpus)
	set(&hc.CpuShares, req.CpuShares)
	set(&hc.PidsLimit, req.PidsLimit)
	if req.CpusetCpus != nil {
		hc.CpusetCpus = *req.CpusetCpus
	}
	if p := req.GetRestartPolicy(); p != nil {
		hc.RestartPolicy = p
	}
	if err := checkHostConfig(hc); err != nil {
		return nil, err
	}
	if hc.Memory > 0 && hc.MemorySwap > 0 && hc.MemorySwap < hc.Memory {
		return nil, fmt.Errorf("minimum memoryswap limit should be larger than memory limit, see usage: %w", errdefs.ErrInvalidArgument)
	}
	if c.run != nil {
		u, ok := m.rt.(Updater)
		if !ok {
			return nil, fmt.Errorf("update container %s: this runtime cannot change a running container's limits: %w", c.rec.Name, errdefs.ErrNotImplemented)
		}
		res := ocispec.LinuxResources(ocispec.Resources{
			Memory: hc.Memory, MemorySwap: hc.MemorySwap, MemoryReservation: hc.MemoryReservation,
			NanoCPUs: hc.NanoCpus, CPUShares: hc.CpuShares, CpusetCpus: hc.CpusetCpus, PidsLimit: hc.PidsLimit,
		})
		if err := u.Update(c.rec.Id, res); err != nil {
			return nil, fmt.Errorf("Cannot update container %s: %w", c.rec.Id, err)
		}
	}
	c.rec.HostConfig = hc
	if err := c.save(); err != nil {
		return nil, fmt.Errorf("update container %s: %w", c.rec.Name, err)
	}
	m.emit(c.rec, "update", nil)
	return &apiv1.UpdateResponse{Warnings: []string{}}, nil
}

// NewUpdaterService returns the agent's Updater gRPC service over m.
func NewUpdaterService(m *Manager) apiv1.UpdaterServer { return &updaterService{m: m} }

type updaterService struct {
	apiv1.UnimplementedUpdaterServer
	m *Manager
}

func (s *updaterService) Update(ctx context.Context, req *apiv1.UpdateRequest) (*apiv1.UpdateResponse, error) {
	return s.m.Update(ctx, req)
}

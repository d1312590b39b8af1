package runner

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Update sets container id's memory, CPU and pids limits to res; what
// res leaves unset is lifted.
func (r *Runner) Update(id string, res *specs.LinuxResources) error {
	c, err := r.get(id)
	if err != nil {
		return err
	}
	cfg := c.Config()
	cg := cfg.Cgroups.Resources
	cg.Memory, cg.MemorySwap, cg.MemoryReservation = 0, 0, 0
	if m := res.Memory; m != nil {
		if m.Limit != nil {
			cg.Memory = *m.Limit
		}
		if m.Swap != nil {
			cg.MemorySwap = *m.Swap
		}
		if m.Reservation != nil {
			cg.MemoryReservation = *m.Reservation
		}
	}
	cg.CpuQuota, cg.CpuPeriod, cg.CpuShares, cg.CpusetCpus = 0, 0, 0, ""
	if cpu := res.CPU; cpu != nil {
		if cpu.Quota != nil {
			cg.CpuQuota = *cpu.Quota
		}
		if cpu.Period != nil {
			cg.CpuPeriod = *cpu.Period
		}
		if cpu.Shares != nil {
			cg.CpuShares = *cpu.Shares
		}
		cg.CpusetCpus = cpu.Cpus
	}
	if cg.CpuQuota == 0 {
		// Lifting a quota is writing "max", which -1 asks for.
		cg.CpuQuota = -1
	}
	unlimited := int64(-1)
	cg.PidsLimit = &unlimited
	if res.Pids != nil && res.Pids.Limit != nil {
		cg.PidsLimit = res.Pids.Limit
	}
	if err := c.Set(cfg); err != nil {
		return fmt.Errorf("update container %s: %w", id, err)
	}
	return nil
}

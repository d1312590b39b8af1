package containers

import (
	"context"
	"strconv"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/host/opts"
)

// UpdateOptions are update's flags, as typed; "" leaves a setting as it
// is.
type UpdateOptions struct {
	CPUs              string
	CPUShares         string
	CpusetCpus        string
	Memory            string
	MemorySwap        string
	MemoryReservation string
	PidsLimit         string
	Restart           string
}

// UpdateRequest parses o into the agent's request for container id.
func (o UpdateOptions) UpdateRequest(id string) (*apiv1.UpdateRequest, error) {
	req := &apiv1.UpdateRequest{Id: id}
	parse := func(flag, v string, f func(flag, v string) (int64, error)) (*int64, error) {
		if v == "" {
			return nil, nil
		}
		n, err := f(flag, v)
		if err != nil {
			return nil, err
		}
		return &n, nil
	}
	integer := func(flag, v string) (int64, error) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, opts.Invalid(flag, v, "not a whole number")
		}
		return n, nil
	}
	var err error
	if req.NanoCpus, err = parse("cpus", o.CPUs, opts.NanoCPUs); err != nil {
		return nil, err
	}
	if req.CpuShares, err = parse("cpu-shares", o.CPUShares, integer); err != nil {
		return nil, err
	}
	if req.Memory, err = parse("memory", o.Memory, opts.Bytes); err != nil {
		return nil, err
	}
	if req.MemorySwap, err = parse("memory-swap", o.MemorySwap, opts.Swap); err != nil {
		return nil, err
	}
	if req.MemoryReservation, err = parse("memory-reservation", o.MemoryReservation, opts.Bytes); err != nil {
		return nil, err
	}
	if req.PidsLimit, err = parse("pids-limit", o.PidsLimit, integer); err != nil {
		return nil, err
	}
	if o.CpusetCpus != "" {
		set, err := opts.CPUSet("cpuset-cpus", o.CpusetCpus)
		if err != nil {
			return nil, err
		}
		req.CpusetCpus = &set
	}
	if o.Restart != "" {
		if req.RestartPolicy, err = opts.Restart("restart", o.Restart); err != nil {
			return nil, err
		}
	}
	return req, nil
}

// UpdateOne applies req and returns the agent's warnings.
func UpdateOne(ctx context.Context, c *agentclient.Client, req *apiv1.UpdateRequest) ([]string, error) {
	resp, err := c.Updater.Update(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp.GetWarnings(), nil
}

// Update changes containers' resources and restart policies, printing
// each one updated, as docker update does.
func Update(ctx context.Context, c *agentclient.Client, s Streams, o UpdateOptions, ids []string) error {
	if _, err := o.UpdateRequest(""); err != nil {
		return err
	}
	if o == (UpdateOptions{}) {
		return opts.Usagef("you must provide one or more flags when using this command")
	}
	return eachContainer(ids, s, func(id string) error {
		req, _ := o.UpdateRequest(id)
		_, err := UpdateOne(ctx, c, req)
		return err
	})
}

package containers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/docker/go-units"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/host/format"
	"github.com/skiffrun/skiff/host/opts"
)

// StatsOptions are stats's flags.
type StatsOptions struct {
	Containers []string
	All        bool
	NoStream   bool
	NoTrunc    bool
	Format     string
}

const defaultStatsFormat = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"

var statsHeader = map[string]string{
	"Container": "CONTAINER", "ID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %",
	"MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS",
}

// StatsRow is one container as docker stats shows it.
type StatsRow struct {
	Container, ID, Name, CPUPerc, MemUsage, MemPerc, NetIO, BlockIO, PIDs string
}

// ContainerStats calls fn with samples of container ctr's raw counters:
// one, or with stream one a second until it stops or ctx ends. It is
// the data behind skiff stats and the Docker API's stats JSON.
func ContainerStats(ctx context.Context, c *agentclient.Client, ctr string, stream bool, fn func(*apiv1.ContainerStats) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := c.Stats.Stats(ctx, &apiv1.StatsRequest{Container: ctr, Stream: stream})
	if err != nil {
		return err
	}
	for {
		st, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := fn(st); err != nil {
			return err
		}
	}
}

// MemoryUsed is docker's memory usage: the cgroup's, less the page cache
// the kernel may drop (inactive_file).
func MemoryUsed(st *apiv1.ContainerStats) uint64 {
	ms := st.GetMemoryStats()
	key := "inactive_file"
	if st.GetCgroupVersion() == 1 {
		key = "total_inactive_file"
	}
	if v, ok := ms[key]; ok && v < st.GetMemoryUsage() {
		return st.GetMemoryUsage() - v
	}
	return st.GetMemoryUsage()
}

// CPUPercent is docker's CPU %: the container's share of the machine's
// CPU time between two samples, times the CPUs.
func CPUPercent(st *apiv1.ContainerStats) float64 {
	cpu, pre := st.GetCpu(), st.GetPreCpu()
	cpuDelta := float64(cpu.GetTotalUsage()) - float64(pre.GetTotalUsage())
	sysDelta := float64(cpu.GetSystemUsage()) - float64(pre.GetSystemUsage())
	if cpuDelta <= 0 || sysDelta <= 0 {
		return 0
	}
	n := float64(cpu.GetOnlineCpus())
	if n == 0 {
		n = float64(len(cpu.GetPercpuUsage()))
	}
	return cpuDelta / sysDelta * n * 100
}

// NewStatsRow renders one sample.
func NewStatsRow(ref string, st *apiv1.ContainerStats, trunc bool) StatsRow {
	used, limit := MemoryUsed(st), st.GetMemoryLimit()
	memPerc := 0.0
	if limit > 0 {
		memPerc = float64(used) / float64(limit) * 100
	}
	var rx, tx uint64
	for _, n := range st.GetNetworks() {
		rx += n.GetRxBytes()
		tx += n.GetTxBytes()
	}
	var read, write uint64
	for _, e := range st.GetIoServiceBytes() {
		switch strings.ToLower(e.GetOp()) {
		case "read":
			read += e.GetValue()
		case "write":
			write += e.GetValue()
		}
	}
	id := st.GetId()
	if trunc {
		id = truncID(id)
	}
	return StatsRow{
		Container: ref,
		ID:        id,
		Name:      strings.TrimPrefix(st.GetName(), "/"),
		CPUPerc:   fmt.Sprintf("%.2f%%", CPUPercent(st)),
		MemUsage:  units.BytesSize(float64(used)) + " / " + units.BytesSize(float64(limit)),
		MemPerc:   fmt.Sprintf("%.2f%%", memPerc),
		NetIO:     format.Size(int64(rx)) + " / " + format.Size(int64(tx)),
		BlockIO:   format.Size(int64(read)) + " / " + format.Size(int64(write)),
		PIDs:      fmt.Sprint(st.GetPidsCurrent()),
	}
}

// Stats prints docker stats: one table with --no-stream, else the table
// redrawn each second until interrupted.
func Stats(ctx context.Context, c *agentclient.Client, s Streams, o StatsOptions) error {
	f, err := format.Parse(o.Format, defaultStatsFormat)
	if err != nil {
		return opts.Invalid("format", o.Format, "%v", err)
	}
	refs := o.Containers
	if len(refs) == 0 {
		resp, err := c.Containers.List(ctx, &apiv1.ListContainersRequest{All: o.All})
		if err != nil {
			return err
		}
		for _, ctr := range resp.GetContainers() {
			if ctr.GetState().GetRunning() {
				refs = append(refs, ctr.GetId())
			}
		}
	}
	for {
		rows, err := sampleAll(ctx, c, refs, !o.NoTrunc, len(o.Containers) > 0)
		if err != nil {
			return err
		}
		if !o.NoStream {
			// Clear the screen and redraw, as docker does.
			fmt.Fprint(s.Out, "\033[2J\033[H")
		}
		if err := f.Write(s.Out, statsHeader, rows); err != nil {
			return err
		}
		if o.NoStream || ctx.Err() != nil {
			return nil
		}
	}
}

// sampleAll takes one sample of each container at once; a container that
// stopped is left out unless it was named (then its error counts).
func sampleAll(ctx context.Context, c *agentclient.Client, refs []string, trunc, named bool) ([]any, error) {
	rows := make([]any, len(refs))
	errs := make([]error, len(refs))
	var wg sync.WaitGroup
	for i, ref := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = ContainerStats(ctx, c, ref, false, func(st *apiv1.ContainerStats) error {
				rows[i] = NewStatsRow(ref, st, trunc)
				return nil
			})
		}()
	}
	wg.Wait()
	var out []any
	var all []error
	for i, r := range rows {
		if errs[i] != nil && named {
			all = append(all, errs[i])
		}
		if r != nil {
			out = append(out, r)
		}
	}
	return out, errors.Join(all...)
}

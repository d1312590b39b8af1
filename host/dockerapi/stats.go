package dockerapi

import (
	"encoding/json"
	"net/http"

	"github.com/moby/moby/api/types/container"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/containers"
	"github.com/skiffrun/skiff/host/format"
)

// containerStats serves GET /containers/{id}/stats: docker's JSON, one
// sample (stream=false) or one a second, each flushed at once. The
// agent's samples carry the one before, so one-shot changes nothing.
func (s *Server) containerStats(w http.ResponseWriter, r *http.Request) error {
	stream := r.URL.Query().Get("stream") != "0" && r.URL.Query().Get("stream") != "false"
	wrote := false
	enc := json.NewEncoder(w)
	err := containers.ContainerStats(r.Context(), s.b.Client, r.PathValue("id"), stream, func(st *apiv1.ContainerStats) error {
		if !wrote {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			wrote = true
		}
		if err := enc.Encode(statsResponse(st)); err != nil {
			return err
		}
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		return nil
	})
	if wrote {
		// The response has begun: a later error can only end it.
		return nil
	}
	return err
}

// statsResponse is an agent sample in docker's shape.
func statsResponse(st *apiv1.ContainerStats) container.StatsResponse {
	out := container.StatsResponse{
		ID:          st.GetId(),
		Name:        "/" + st.GetName(),
		OSType:      "linux",
		Read:        format.Time(st.GetRead()),
		PreRead:     format.Time(st.GetPreRead()),
		CPUStats:    cpuStats(st.GetCpu()),
		PreCPUStats: cpuStats(st.GetPreCpu()),
		MemoryStats: container.MemoryStats{
			Usage:    st.GetMemoryUsage(),
			MaxUsage: st.GetMemoryMaxUsage(),
			Limit:    st.GetMemoryLimit(),
			Stats:    st.GetMemoryStats(),
		},
		PidsStats: container.PidsStats{Current: st.GetPidsCurrent(), Limit: st.GetPidsLimit()},
	}
	for _, e := range st.GetIoServiceBytes() {
		out.BlkioStats.IoServiceBytesRecursive = append(out.BlkioStats.IoServiceBytesRecursive,
			container.BlkioStatEntry{Major: e.GetMajor(), Minor: e.GetMinor(), Op: e.GetOp(), Value: e.GetValue()})
	}
	if nets := st.GetNetworks(); len(nets) > 0 {
		out.Networks = map[string]container.NetworkStats{}
		for _, n := range nets {
			out.Networks[n.GetName()] = container.NetworkStats{
				RxBytes: n.GetRxBytes(), RxPackets: n.GetRxPackets(), RxErrors: n.GetRxErrors(), RxDropped: n.GetRxDropped(),
				TxBytes: n.GetTxBytes(), TxPackets: n.GetTxPackets(), TxErrors: n.GetTxErrors(), TxDropped: n.GetTxDropped(),
			}
		}
	}
	return out
}

func cpuStats(c *apiv1.CPUStats) container.CPUStats {
	return container.CPUStats{
		CPUUsage: container.CPUUsage{
			TotalUsage:        c.GetTotalUsage(),
			PercpuUsage:       c.GetPercpuUsage(),
			UsageInKernelmode: c.GetUsageInKernelmode(),
			UsageInUsermode:   c.GetUsageInUsermode(),
		},
		SystemUsage: c.GetSystemUsage(),
		OnlineCPUs:  c.GetOnlineCpus(),
		ThrottlingData: container.ThrottlingData{
			Periods: c.GetPeriods(), ThrottledPeriods: c.GetThrottledPeriods(), ThrottledTime: c.GetThrottledTime(),
		},
	}
}

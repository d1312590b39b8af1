package runner

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// Stats samples container id's cgroup counters and, through its first
// process, the network devices of its namespace.
func (r *Runner) Stats(id string) (*apiv1.ContainerStats, error) {
	c, err := r.get(id)
	if err != nil {
		return nil, err
	}
	st, err := c.Stats()
	if err != nil {
		return nil, fmt.Errorf("stats of container %s: %w", id, err)
	}
	out := &apiv1.ContainerStats{Id: id, Read: time.Now().UnixNano(), CgroupVersion: 1}
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		out.CgroupVersion = 2
	}
	if cg := st.CgroupStats; cg != nil {
		cu := cg.CpuStats.CpuUsage
		out.Cpu = &apiv1.CPUStats{
			TotalUsage:        cu.TotalUsage,
			UsageInKernelmode: cu.UsageInKernelmode,
			UsageInUsermode:   cu.UsageInUsermode,
			PercpuUsage:       cu.PercpuUsage,
			SystemUsage:       systemCPU(),
			OnlineCpus:        uint32(runtime.NumCPU()),
			ThrottledPeriods:  cg.CpuStats.ThrottlingData.ThrottledPeriods,
			ThrottledTime:     cg.CpuStats.ThrottlingData.ThrottledTime,
			Periods:           cg.CpuStats.ThrottlingData.Periods,
		}
		mem := cg.MemoryStats
		out.MemoryUsage, out.MemoryMaxUsage, out.MemoryLimit = mem.Usage.Usage, mem.Usage.MaxUsage, mem.Usage.Limit
		out.MemoryStats = mem.Stats
		var si unix.Sysinfo_t
		if unix.Sysinfo(&si) == nil {
			if total := uint64(si.Totalram) * uint64(si.Unit); out.MemoryLimit == 0 || out.MemoryLimit > total {
				out.MemoryLimit = total
			}
		}
		out.PidsCurrent, out.PidsLimit = cg.PidsStats.Current, cg.PidsStats.Limit
		for _, e := range cg.BlkioStats.IoServiceBytesRecursive {
			out.IoServiceBytes = append(out.IoServiceBytes, &apiv1.BlkioEntry{Major: e.Major, Minor: e.Minor, Op: e.Op, Value: e.Value})
		}
	}
	if s, err := c.State(); err == nil && s.InitProcessPid > 0 {
		out.Networks = netDev(s.InitProcessPid)
	}
	return out, nil
}

// clockTicks is USER_HZ, the unit of /proc/stat, 100 on every Linux
// skiff runs on.
const clockTicks = 100

// systemCPU is the machine's CPU time in nanoseconds, as docker counts
// it: the sum of /proc/stat's cpu line.
func systemCPU() uint64 {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 8 || fields[0] != "cpu" {
			continue
		}
		var ticks uint64
		for _, v := range fields[1:8] {
			n, _ := strconv.ParseUint(v, 10, 64)
			ticks += n
		}
		return ticks * uint64(time.Second) / clockTicks
	}
	return 0
}

// netDev reads the devices of the network namespace of pid, loopback
// left out, as docker leaves it.
func netDev(pid int) []*apiv1.NetworkStats {
	f, err := os.Open(fmt.Sprintf("/proc/%d/net/dev", pid))
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []*apiv1.NetworkStats
	s := bufio.NewScanner(f)
	for s.Scan() {
		name, rest, ok := strings.Cut(s.Text(), ":")
		name = strings.TrimSpace(name)
		if !ok || name == "lo" {
			continue
		}
		v := strings.Fields(rest)
		if len(v) < 12 {
			continue
		}
		n := func(i int) uint64 { x, _ := strconv.ParseUint(v[i], 10, 64); return x }
		out = append(out, &apiv1.NetworkStats{Name: name,
			RxBytes: n(0), RxPackets: n(1), RxErrors: n(2), RxDropped: n(3),
			TxBytes: n(8), TxPackets: n(9), TxErrors: n(10), TxDropped: n(11)})
	}
	return out
}

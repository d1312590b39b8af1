package agent

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// Version is the agent's version, set at build time with -ldflags -X.
var (
	Version   = "dev"
	GitCommit = ""
)

// APIVersion is the version of the gRPC contract this agent serves.
const APIVersion = "v1"

type systemService struct {
	apiv1.UnimplementedSystemServer
	a *Agent
}

func kernelVersion() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

func (s *systemService) Version(context.Context, *apiv1.Empty) (*apiv1.VersionResponse, error) {
	return &apiv1.VersionResponse{
		Version:       Version,
		ApiVersion:    APIVersion,
		GitCommit:     GitCommit,
		GoVersion:     runtime.Version(),
		Os:            runtime.GOOS,
		Arch:          runtime.GOARCH,
		KernelVersion: kernelVersion(),
	}, nil
}

func (s *systemService) Info(context.Context, *apiv1.Empty) (*apiv1.InfoResponse, error) {
	total, running, paused, stopped := s.a.containers.Counts()
	var si unix.Sysinfo_t
	_ = unix.Sysinfo(&si)
	host, _ := os.Hostname()
	cgroupVersion := "1"
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		cgroupVersion = "2"
	}
	return &apiv1.InfoResponse{
		Containers:        int32(total),
		ContainersRunning: int32(running),
		ContainersPaused:  int32(paused),
		ContainersStopped: int32(stopped),
		Images:            int32(s.a.images.Count()),
		StorageDriver:     "overlay",
		CgroupDriver:      "cgroupfs",
		CgroupVersion:     cgroupVersion,
		KernelVersion:     kernelVersion(),
		OperatingSystem:   osName(),
		OsType:            "linux",
		Architecture:      runtime.GOARCH,
		Ncpu:              int32(runtime.NumCPU()),
		MemTotal:          int64(si.Totalram) * int64(si.Unit),
		MemAvailable:      memAvailable(),
		RootDir:           s.a.cfg.Root,
		Name:              host,
		ServerVersion:     Version,
		SecurityOptions:   []string{"name=seccomp,profile=builtin"},
		MachineDriver:     s.a.cfg.MachineDriver,
		AgentMemory:       residentMemory(),
	}, nil
}

// Shutdown answers, then stops the agent: the caller waits for the
// connection to close to know it is done.
func (s *systemService) Shutdown(context.Context, *apiv1.Empty) (*apiv1.Empty, error) {
	go s.a.Shutdown(context.Background())
	return &apiv1.Empty{}, nil
}

// SetTime sets the machine's clock to the host's. The native agent runs
// on the host's own clock, which is not the agent's to set.
func (s *systemService) SetTime(_ context.Context, req *apiv1.SetTimeRequest) (*apiv1.SetTimeResponse, error) {
	if !s.a.cfg.OwnsClock {
		return nil, errdefs.ErrFailedPrecondition.WithMessage("the native agent uses the host's clock")
	}
	if req.GetUnixNano() <= 0 {
		return nil, errdefs.ErrInvalidArgument.WithMessage("unix_nano must be a time after 1970")
	}
	prev := time.Now()
	tv := unix.NsecToTimeval(req.GetUnixNano())
	if err := unix.Settimeofday(&tv); err != nil {
		return nil, errdefs.ErrInternal.WithMessage("set the clock: " + err.Error())
	}
	s.a.cfg.Log.Debug("clock set", "from", prev, "to", time.Unix(0, req.GetUnixNano()))
	return &apiv1.SetTimeResponse{PreviousUnixNano: prev.UnixNano()}, nil
}

func osName() string {
	data, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "Linux"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "Linux"
}

// memAvailable reads MemAvailable from /proc/meminfo, in bytes; 0 when
// it cannot.
func memAvailable() int64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	return meminfoField(string(data), "MemAvailable")
}

// residentMemory is the agent's resident set size (VmRSS), bytes; 0 when
// /proc does not say.
func residentMemory() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

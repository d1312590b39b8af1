package containers

import (
	"strings"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/format"
)

// Inspect is a container shaped as docker inspect prints it, so that
// templates written for docker (--format '{{.State.ExitCode}}') work.
// Fields skiff has no notion of are left out rather than faked.
type Inspect struct {
	ID              string `json:"Id"`
	Created         string
	Path            string
	Args            []string
	State           InspectState
	Image           string
	ResolvConfPath  string
	HostnamePath    string
	HostsPath       string
	LogPath         string
	Name            string
	RestartCount    int
	Driver          string
	Platform        string
	MountLabel      string
	ProcessLabel    string
	AppArmorProfile string
	HostConfig      InspectHostConfig
	Mounts          []InspectMount
	Config          InspectConfig
	NetworkSettings InspectNetworkSettings
}

// InspectState is docker's State.
type InspectState struct {
	Status     string
	Running    bool
	Paused     bool
	Restarting bool
	OOMKilled  bool
	Dead       bool
	Pid        int
	ExitCode   int
	Error      string
	StartedAt  string
	FinishedAt string
	Health     *InspectHealth `json:",omitempty"`
}

// InspectRestartPolicy is docker's HostConfig.RestartPolicy.
type InspectRestartPolicy struct {
	Name              string
	MaximumRetryCount int
}

// InspectUlimit is one of docker's HostConfig.Ulimits.
type InspectUlimit struct {
	Name string
	Hard int64
	Soft int64
}

// InspectHostConfig is docker's HostConfig, in docker's field order.
type InspectHostConfig struct {
	// LogConfig names the log driver: the agent keeps docker's json-file
	// log (one JSON object a line in <id>-json.log), which clients such as
	// docker-compose 1.x ask for before they read logs.
	LogConfig         InspectLogConfig
	NetworkMode       string
	PortBindings      map[string][]InspectPortBinding
	PublishAllPorts   bool
	RestartPolicy     InspectRestartPolicy
	AutoRemove        bool
	CapAdd            []string
	CapDrop           []string
	DNS               []string `json:"Dns"`
	ExtraHosts        []string
	Privileged        bool
	ReadonlyRootfs    bool
	SecurityOpt       []string
	Tmpfs             map[string]string `json:",omitempty"`
	ShmSize           int64
	Sysctls           map[string]string `json:",omitempty"`
	CPUShares         int64             `json:"CpuShares"`
	Memory            int64
	NanoCPUs          int64 `json:"NanoCpus"`
	CpusetCpus        string
	MemoryReservation int64
	MemorySwap        int64
	PidsLimit         *int64
	Ulimits           []InspectUlimit
	Init              *bool
}

// InspectLogConfig is docker's HostConfig.LogConfig.
type InspectLogConfig struct {
	Type   string
	Config map[string]string
}

// InspectConfig is docker's Config.
type InspectConfig struct {
	Hostname     string
	Domainname   string
	User         string
	AttachStdin  bool
	AttachStdout bool
	AttachStderr bool
	Tty          bool
	OpenStdin    bool
	StdinOnce    bool
	Env          []string
	Cmd          []string
	Image        string
	WorkingDir   string
	Entrypoint   []string
	Labels       map[string]string
	StopSignal   string              `json:",omitempty"`
	StopTimeout  *int                `json:",omitempty"`
	Healthcheck  *InspectHealthcheck `json:",omitempty"`
	// Volumes are the anonymous volume paths (-v /path).
	Volumes map[string]struct{} `json:",omitempty"`
	// ExposedPorts are "port/proto" keys, the image's and --expose's.
	ExposedPorts map[string]struct{} `json:",omitempty"`
}

// NewInspect shapes c as docker's inspect does.
func NewInspect(c *apiv1.Container) Inspect {
	st, hc, cfg := c.GetState(), c.GetHostConfig(), c.GetConfig()
	out := Inspect{
		ID:      c.GetId(),
		Created: format.RFC3339Nano(format.Time(c.GetCreated())),
		Path:    c.GetPath(),
		Args:    nonNil(c.GetArgs()),
		State: InspectState{
			Status:     st.GetStatus(),
			Running:    st.GetRunning(),
			Paused:     st.GetPaused(),
			Restarting: st.GetRestarting(),
			OOMKilled:  st.GetOomKilled(),
			Dead:       st.GetDead(),
			Pid:        int(st.GetPid()),
			ExitCode:   int(st.GetExitCode()),
			Error:      st.GetError(),
			StartedAt:  format.RFC3339Nano(format.Time(st.GetStartedAt())),
			FinishedAt: format.RFC3339Nano(format.Time(st.GetFinishedAt())),
			Health:     inspectHealth(st.GetHealth()),
		},
		Image:          c.GetImageId(),
		ResolvConfPath: c.GetResolvConfPath(),
		HostnamePath:   c.GetHostnamePath(),
		HostsPath:      c.GetHostsPath(),
		LogPath:        c.GetLogPath(),
		Name:           "/" + strings.TrimPrefix(c.GetName(), "/"),
		RestartCount:   int(c.GetRestartCount()),
		Driver:         c.GetDriver(),
		Platform:       "linux",
		HostConfig: InspectHostConfig{
			LogConfig:   InspectLogConfig{Type: "json-file", Config: map[string]string{}},
			NetworkMode: hc.GetNetworkMode(),
			RestartPolicy: InspectRestartPolicy{
				Name:              hc.GetRestartPolicy().GetName(),
				MaximumRetryCount: int(hc.GetRestartPolicy().GetMaximumRetryCount()),
			},
			AutoRemove:        hc.GetAutoRemove(),
			CapAdd:            hc.GetCapAdd(),
			CapDrop:           hc.GetCapDrop(),
			DNS:               nonNil(hc.GetDns()),
			ExtraHosts:        hc.GetExtraHosts(),
			Privileged:        hc.GetPrivileged(),
			ReadonlyRootfs:    hc.GetReadOnly(),
			SecurityOpt:       hc.GetSecurityOpt(),
			Tmpfs:             tmpfsMap(hc.GetTmpfs()),
			ShmSize:           hc.GetShmSize(),
			Sysctls:           hc.GetSysctls(),
			CPUShares:         hc.GetCpuShares(),
			Memory:            hc.GetMemory(),
			NanoCPUs:          hc.GetNanoCpus(),
			CpusetCpus:        hc.GetCpusetCpus(),
			MemoryReservation: hc.GetMemoryReservation(),
			MemorySwap:        hc.GetMemorySwap(),
		},
		Mounts: inspectMounts(c.GetMounts()),
		Config: InspectConfig{
			Hostname:     cfg.GetHostname(),
			User:         cfg.GetUser(),
			AttachStdin:  cfg.GetAttachStdin(),
			AttachStdout: cfg.GetAttachStdout(),
			AttachStderr: cfg.GetAttachStderr(),
			Tty:          cfg.GetTty(),
			OpenStdin:    cfg.GetOpenStdin(),
			StdinOnce:    cfg.GetStdinOnce(),
			Env:          cfg.GetEnv(),
			Cmd:          cfg.GetCmd(),
			Image:        cfg.GetImage(),
			WorkingDir:   cfg.GetWorkingDir(),
			Entrypoint:   cfg.GetEntrypoint(),
			Labels:       nonNilMap(cfg.GetLabels()),
			StopSignal:   cfg.GetStopSignal(),
			Healthcheck:  inspectHealthcheck(cfg.GetHealthcheck()),
		},
	}
	if out.HostConfig.RestartPolicy.Name == "" {
		out.HostConfig.RestartPolicy.Name = "no"
	}
	if out.Config.Image == "" {
		out.Config.Image = c.GetImage()
	}
	if n := hc.GetPidsLimit(); n != 0 {
		out.HostConfig.PidsLimit = &n
	}
	if hc.GetInit() {
		t := true
		out.HostConfig.Init = &t
	}
	for _, u := range hc.GetUlimits() {
		out.HostConfig.Ulimits = append(out.HostConfig.Ulimits, InspectUlimit{Name: u.GetName(), Hard: u.GetHard(), Soft: u.GetSoft()})
	}
	for _, v := range cfg.GetVolumes() {
		if out.Config.Volumes == nil {
			out.Config.Volumes = map[string]struct{}{}
		}
		out.Config.Volumes[v] = struct{}{}
	}
	if cfg.GetStopTimeoutSet() {
		n := int(cfg.GetStopTimeout())
		out.Config.StopTimeout = &n
	}
	inspectNetwork(c, &out)
	return out
}

// tmpfsMap turns --tmpfs items (path[:options]) into docker's map of path
// to options.
func tmpfsMap(items []string) map[string]string {
	if len(items) == 0 {
		return nil
	}
	m := make(map[string]string, len(items))
	for _, it := range items {
		p, o, _ := strings.Cut(it, ":")
		m[p] = o
	}
	return m
}

// nonNil keeps docker's [] (not null) for lists its inspect always has.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

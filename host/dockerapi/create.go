package dockerapi

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/containers"
	"github.com/skiffrun/skiff/host/opts"
)

// createOptions turns docker's create body into the options skiff create
// parses, so that both get the same defaults, checks and bind-path
// translation: docker's typed fields become the flag text the CLI would
// have had.
func createOptions(req *container.CreateRequest, name string, agentPath containers.AgentPath) (containers.CreateOptions, error) {
	cfg := req.Config
	hc := req.HostConfig
	if hc == nil {
		hc = &container.HostConfig{}
	}
	o := containers.CreateOptions{
		Image:        cfg.Image,
		Args:         cfg.Cmd,
		Name:         name,
		Interactive:  cfg.OpenStdin,
		TTY:          cfg.Tty,
		StdinOnce:    cfg.StdinOnce,
		AttachStdin:  cfg.AttachStdin,
		AttachStdout: cfg.AttachStdout,
		AttachStderr: cfg.AttachStderr,
		Workdir:      cfg.WorkingDir,
		User:         cfg.User,
		Hostname:     cfg.Hostname,
		StopSignal:   cfg.StopSignal,
		Restart:      "no",
		AutoRemove:   hc.AutoRemove,
		CPUShares:    hc.CPUShares,
		CPUSetCPUs:   hc.CpusetCpus,
		ReadOnly:     hc.ReadonlyRootfs,
		CapAdd:       hc.CapAdd,
		CapDrop:      hc.CapDrop,
		Privileged:   hc.Privileged,
		Network:      string(hc.NetworkMode),
		AddHosts:     hc.ExtraHosts,
		PublishAll:   hc.PublishAllPorts,
		Init:         hc.Init != nil && *hc.Init,
		SecurityOpts: hc.SecurityOpt,
		Volumes:      append([]string(nil), hc.Binds...),
		AgentPath:    agentPath,
		Pull:         "never",
	}
	if cfg.StopTimeout != nil {
		o.StopTimeout, o.StopTimeoutSet = *cfg.StopTimeout, true
	}
	// Docker takes an empty network mode with one endpoint as that
	// network (compose and testcontainers send only the endpoint).
	if nc := req.NetworkingConfig; o.Network == "" && nc != nil && len(nc.EndpointsConfig) == 1 {
		for netName := range nc.EndpointsConfig {
			o.Network = netName
		}
	}
	if o.Network == "default" {
		o.Network = ""
	}
	if nc := req.NetworkingConfig; nc != nil {
		for netName, ep := range nc.EndpointsConfig {
			if ep != nil && primaryNetwork(netName) == primaryNetwork(o.Network) {
				o.NetworkAliases = ep.Aliases
			}
		}
	}
	if len(hc.Devices) > 0 || len(hc.DeviceRequests) > 0 {
		return o, badRequest("skiff does not pass host devices into containers (--device, --gpus); leave them out")
	}
	// An empty list is what docker-py (docker-compose 1.x) sends for none.
	if len(hc.VolumesFrom) > 0 {
		return o, badRequest("skiff does not support --volumes-from; mount the same named volumes instead")
	}
	if rp := hc.RestartPolicy; rp.Name != "" {
		o.Restart = string(rp.Name)
		if rp.Name == container.RestartPolicyOnFailure && rp.MaximumRetryCount > 0 {
			o.Restart += ":" + strconv.Itoa(rp.MaximumRetryCount)
		}
	}
	if hc.Memory != 0 {
		o.Memory = strconv.FormatInt(hc.Memory, 10)
	}
	if hc.MemorySwap != 0 {
		o.MemorySwap = strconv.FormatInt(hc.MemorySwap, 10)
	}
	if hc.MemoryReservation != 0 {
		o.MemoryReservation = strconv.FormatInt(hc.MemoryReservation, 10)
	}
	if hc.NanoCPUs != 0 {
		o.CPUs = strconv.FormatFloat(float64(hc.NanoCPUs)/1e9, 'f', -1, 64)
	} else if hc.CPUQuota > 0 && hc.CPUPeriod > 0 {
		o.CPUs = strconv.FormatFloat(float64(hc.CPUQuota)/float64(hc.CPUPeriod), 'f', -1, 64)
	}
	if hc.PidsLimit != nil {
		o.PidsLimit = *hc.PidsLimit
	}
	if hc.ShmSize != 0 {
		o.ShmSize = strconv.FormatInt(hc.ShmSize, 10)
	}
	for _, u := range hc.Ulimits {
		o.Ulimits = append(o.Ulimits, fmt.Sprintf("%s=%d:%d", u.Name, u.Soft, u.Hard))
	}
	for _, d := range hc.DNS {
		o.DNS = append(o.DNS, d.String())
	}
	o.Labels = keyValues(cfg.Labels)
	o.Sysctls = keyValues(hc.Sysctls)
	for _, target := range sortedKeys(hc.Tmpfs) {
		t := target
		if v := hc.Tmpfs[target]; v != "" {
			t += ":" + v
		}
		o.Tmpfs = append(o.Tmpfs, t)
	}
	o.Volumes = append(o.Volumes, anonymousVolumes(cfg.Volumes, hc)...)
	for _, m := range hc.Mounts {
		spec, err := mountSpec(m)
		if err != nil {
			return o, err
		}
		o.Mounts = append(o.Mounts, spec)
	}
	for p := range cfg.ExposedPorts {
		o.Expose = append(o.Expose, p.String())
	}
	sort.Strings(o.Expose)
	for p, bs := range hc.PortBindings {
		if len(bs) == 0 {
			o.Publish = append(o.Publish, p.String())
		}
		for _, b := range bs {
			o.Publish = append(o.Publish, publishSpec(p, b))
		}
	}
	sort.Strings(o.Publish)
	return o, nil
}

// publishSpec is one binding as -p text: [ip:][hostPort:]port/proto.
// Host port 0 is any free port, as docker reads it (testcontainers sends
// it so).
func publishSpec(p network.Port, b network.PortBinding) string {
	ctr := p.String()
	if b.HostPort == "0" {
		b.HostPort = ""
	}
	switch {
	case b.HostIP.IsValid() && b.HostIP.Is6():
		return "[" + b.HostIP.String() + "]:" + b.HostPort + ":" + ctr
	case b.HostIP.IsValid():
		return b.HostIP.String() + ":" + b.HostPort + ":" + ctr
	case b.HostPort != "":
		return b.HostPort + ":" + ctr
	}
	return ctr
}

// mountSpec is one of docker's Mounts as --mount text.
// anonymousVolumes are the create body's Config.Volumes that no bind,
// mount or tmpfs of hc covers. docker mounts an anonymous volume only at a
// path nothing else is mounted on, and docker-compose 1.x lists each
// volume's target there beside its bind.
func anonymousVolumes(vols map[string]struct{}, hc *container.HostConfig) []string {
	mounted := map[string]bool{}
	for _, b := range hc.Binds {
		if m, err := opts.Volume("volume", b); err == nil {
			mounted[path.Clean(m.Target)] = true
		}
	}
	for _, m := range hc.Mounts {
		mounted[path.Clean(m.Target)] = true
	}
	for t := range hc.Tmpfs {
		mounted[path.Clean(t)] = true
	}
	var out []string
	for _, v := range sortedKeys(vols) {
		if !mounted[path.Clean(v)] {
			out = append(out, v)
		}
	}
	return out
}

func mountSpec(m mount.Mount) (string, error) {
	fields := []string{"type=" + string(m.Type)}
	if m.Source != "" {
		fields = append(fields, "source="+m.Source)
	}
	fields = append(fields, "target="+m.Target)
	if m.ReadOnly {
		fields = append(fields, "readonly")
	}
	switch m.Type {
	case mount.TypeBind, mount.TypeVolume, mount.TypeTmpfs:
	default:
		return "", badRequest("mount type %q is not supported by skiff; use bind, volume or tmpfs", m.Type)
	}
	if bo := m.BindOptions; bo != nil {
		if bo.Propagation != "" {
			fields = append(fields, "bind-propagation="+string(bo.Propagation))
		}
		if bo.NonRecursive {
			fields = append(fields, "bind-nonrecursive")
		}
	}
	if vo := m.VolumeOptions; vo != nil {
		if vo.NoCopy {
			fields = append(fields, "volume-nocopy")
		}
		for _, k := range sortedKeys(vo.Labels) {
			fields = append(fields, "volume-label="+k+"="+vo.Labels[k])
		}
		if vo.DriverConfig != nil && vo.DriverConfig.Name != "" {
			fields = append(fields, "volume-driver="+vo.DriverConfig.Name)
		}
	}
	if to := m.TmpfsOptions; to != nil {
		if to.SizeBytes > 0 {
			fields = append(fields, "tmpfs-size="+strconv.FormatInt(to.SizeBytes, 10))
		}
		if to.Mode != 0 {
			fields = append(fields, "tmpfs-mode="+strconv.FormatUint(uint64(to.Mode.Perm()), 8))
		}
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	if err := cw.Write(fields); err != nil {
		return "", badRequest("mount %s: %s", m.Target, err.Error())
	}
	cw.Flush()
	return strings.TrimRight(buf.String(), "\r\n"), nil
}

func keyValues(m map[string]string) []string {
	var out []string
	for _, k := range sortedKeys(m) {
		out = append(out, k+"="+m[k])
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// createRequest builds the agent's request from docker's body.
func (s *Server) createRequest(req *container.CreateRequest, name, platform string) (*apiv1.CreateContainerRequest, error) {
	if req.Config == nil {
		return nil, badRequest("config cannot be empty in order to create a container")
	}
	o, err := createOptions(req, name, s.b.AgentPath)
	if err != nil {
		return nil, err
	}
	o.Platform = platform
	creq, err := o.Request()
	if err != nil {
		// Whatever the CLI would refuse is the client's mistake, a bind
		// outside the machine's shares included.
		return nil, badRequest("%s", err.Error())
	}
	cfg := creq.Config
	// The client has already resolved -e NAME from its environment; a bare
	// name here stays unset rather than taking this server's value.
	cfg.Env = nil
	for _, e := range req.Env {
		if strings.Contains(e, "=") {
			cfg.Env = append(cfg.Env, e)
		}
	}
	cfg.Entrypoint, cfg.EntrypointSet = req.Entrypoint, req.Entrypoint != nil
	if cfg.Healthcheck, err = healthConfig(req.Healthcheck); err != nil {
		return nil, err
	}
	return creq, nil
}

// healthConfig is the body's Healthcheck as the agent takes it; nil keeps
// the image's.
func healthConfig(h *container.HealthConfig) (*apiv1.HealthConfig, error) {
	if h == nil {
		return nil, nil
	}
	// The agent checks the test and durations, as it does the CLI's.
	return &apiv1.HealthConfig{
		Test:          h.Test,
		Interval:      int64(h.Interval),
		Timeout:       int64(h.Timeout),
		StartPeriod:   int64(h.StartPeriod),
		StartInterval: int64(h.StartInterval),
		Retries:       int32(h.Retries),
	}, nil
}

func (s *Server) createContainer(w http.ResponseWriter, r *http.Request) error {
	var req container.CreateRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	q := r.URL.Query()
	creq, err := s.createRequest(&req, q.Get("name"), q.Get("platform"))
	if err != nil {
		return err
	}
	ctx := r.Context()
	c := s.b.Client
	resp, err := c.Containers.Create(ctx, creq)
	if errdefs.IsNotFound(err) {
		if _, ierr := c.Images.Inspect(ctx, &apiv1.ImageRef{Ref: creq.Config.Image}); errdefs.IsNotFound(ierr) {
			return notFound("No such image: %s", familiarTagged(creq.Config.Image))
		}
	}
	if err != nil {
		return err
	}
	// The primary network is the create's; the others are joined before
	// the first start, each with its aliases.
	if nc := req.NetworkingConfig; nc != nil {
		primary := creq.GetHostConfig().GetNetworkMode()
		for _, netName := range sortedKeys(nc.EndpointsConfig) {
			ep := nc.EndpointsConfig[netName]
			var aliases []string
			if ep != nil {
				aliases = ep.Aliases
			}
			// The create itself joined the primary network, with its
			// aliases.
			if primaryNetwork(netName) == primaryNetwork(primary) {
				continue
			}
			_, cerr := c.Networks.Connect(ctx, &apiv1.ConnectNetworkRequest{Network: netName, Container: resp.GetId(), Aliases: aliases})
			if cerr != nil && !errdefs.IsAlreadyExists(cerr) && !errdefs.IsConflict(cerr) {
				_, _ = c.Containers.Remove(ctx, &apiv1.RemoveRequest{Id: resp.GetId(), Force: true})
				return cerr
			}
		}
	}
	warnings := resp.GetWarnings()
	if warnings == nil {
		warnings = []string{}
	}
	writeJSON(w, http.StatusCreated, container.CreateResponse{ID: resp.GetId(), Warnings: warnings})
	return nil
}

// primaryNetwork is the network a create's network mode names: empty is
// docker's default bridge.
func primaryNetwork(mode string) string {
	if mode == "" || mode == "default" {
		return "bridge"
	}
	return mode
}

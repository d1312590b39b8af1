// Package containers carries out the container commands of the CLI
// (create, run, start, attach, exec, logs, ps, stop, kill, restart, rm,
// wait, rename, top, prune, inspect): each takes the options its command
// parsed, validates them before anything is sent, calls the agent, and
// prints what docker prints. Flags are cmd/skiff's; the connection is
// host/agentclient's; streams and terminals are host/stream's and
// host/tty's.
package containers

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/host/images"
	"github.com/skiffrun/skiff/host/opts"
	"github.com/skiffrun/skiff/host/tty"
)

// lookupEnv reads the CLI's environment for -e NAME without a value.
var lookupEnv = os.LookupEnv

// Streams are the CLI's standard streams. In and Out are usually
// *os.File, which lets the commands find out whether they are terminals.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// CreateOptions are the flags of create and run that describe the
// container. Values that need parsing are kept as typed; Request checks
// them.
type CreateOptions struct {
	Image string
	Args  []string

	Name        string
	Interactive bool
	TTY         bool
	// StdinOnce closes the container's stdin when the first attached
	// client closes its own; run -i sets it.
	StdinOnce bool
	// AttachStdin, AttachStdout and AttachStderr are the streams the
	// creator attaches, as docker's inspect shows them.
	AttachStdin, AttachStdout, AttachStderr bool
	Env                                     []string
	EnvFiles                                []string
	Workdir                                 string
	User                                    string
	// Entrypoint replaces the image's when EntrypointSet, even if empty.
	Entrypoint    string
	EntrypointSet bool
	Hostname      string
	Labels        []string
	StopSignal    string
	// StopTimeout counts only when StopTimeoutSet.
	StopTimeout    int
	StopTimeoutSet bool

	Restart           string
	AutoRemove        bool
	Memory            string
	MemorySwap        string
	MemoryReservation string
	CPUs              string
	CPUShares         int64
	CPUSetCPUs        string
	PidsLimit         int64
	Ulimits           []string
	ReadOnly          bool
	CapAdd            []string
	CapDrop           []string
	Privileged        bool
	Network           string
	NetworkAliases    []string
	AddHosts          []string
	DNS               []string
	Publish           []string
	PublishAll        bool
	Expose            []string
	ShmSize           string
	Init              bool
	SecurityOpts      []string
	Sysctls           []string
	Tmpfs             []string
	// Volumes and Mounts are -v and --mount; AgentPath translates bind
	// sources (nil: the agent sees the host's paths).
	Volumes   []string
	Mounts    []string
	AgentPath AgentPath

	HealthOptions

	Pull     string
	Platform string
	// Registry resolves credentials when the image must be pulled.
	Registry images.RegistryResolver
}

// Request checks o and builds the agent's create request.
func (o *CreateOptions) Request() (*apiv1.CreateContainerRequest, error) {
	if o.Image == "" {
		return nil, opts.Usagef("an image is required, as in: skiff run busybox echo hello")
	}
	var err error
	cfg := &apiv1.ContainerConfig{
		Image:          o.Image,
		Cmd:            o.Args,
		User:           o.User,
		Hostname:       o.Hostname,
		Tty:            o.TTY,
		OpenStdin:      o.Interactive,
		StdinOnce:      o.StdinOnce && o.Interactive,
		AttachStdin:    o.AttachStdin,
		AttachStdout:   o.AttachStdout,
		AttachStderr:   o.AttachStderr,
		EntrypointSet:  o.EntrypointSet,
		StopTimeout:    int32(o.StopTimeout),
		StopTimeoutSet: o.StopTimeoutSet,
	}
	if o.Entrypoint != "" {
		cfg.Entrypoint = []string{o.Entrypoint}
	}
	if cfg.Env, err = opts.Env(o.EnvFiles, o.Env, lookupEnv); err != nil {
		return nil, err
	}
	if cfg.WorkingDir, err = opts.AbsPath("workdir", o.Workdir); err != nil {
		return nil, err
	}
	if cfg.Labels, err = opts.KeyValues("label", o.Labels, true); err != nil {
		return nil, err
	}
	if cfg.StopSignal, err = opts.Signal("stop-signal", o.StopSignal); err != nil {
		return nil, err
	}
	if cfg.Healthcheck, err = o.healthConfig(); err != nil {
		return nil, err
	}
	host, err := o.hostConfig()
	if err != nil {
		return nil, err
	}
	if err := o.ports(cfg, host); err != nil {
		return nil, err
	}
	if err := o.mounts(cfg, host); err != nil {
		return nil, err
	}
	req := &apiv1.CreateContainerRequest{Config: cfg, HostConfig: host}
	if req.Name, err = opts.Name("name", o.Name); err != nil {
		return nil, err
	}
	if req.Pull, err = opts.Pull("pull", o.Pull); err != nil {
		return nil, err
	}
	if req.Platform, err = opts.Platform("platform", o.Platform); err != nil {
		return nil, err
	}
	return req, nil
}

func (o *CreateOptions) hostConfig() (*apiv1.HostConfig, error) {
	h := &apiv1.HostConfig{
		CpuShares:      o.CPUShares,
		PidsLimit:      o.PidsLimit,
		ReadOnly:       o.ReadOnly,
		CapAdd:         o.CapAdd,
		CapDrop:        o.CapDrop,
		Privileged:     o.Privileged,
		AutoRemove:     o.AutoRemove,
		NetworkMode:    o.Network,
		NetworkAliases: o.NetworkAliases,
		Init:           o.Init,
		SecurityOpt:    o.SecurityOpts,
	}
	var err error
	if h.Memory, err = opts.Bytes("memory", o.Memory); err != nil {
		return nil, err
	}
	if h.MemorySwap, err = opts.Swap("memory-swap", o.MemorySwap); err != nil {
		return nil, err
	}
	if h.MemorySwap > 0 && h.Memory == 0 {
		return nil, opts.Invalid("memory-swap", o.MemorySwap, "set --memory too; --memory-swap is memory plus swap")
	}
	if h.MemorySwap > 0 && h.MemorySwap < h.Memory {
		return nil, opts.Invalid("memory-swap", o.MemorySwap, "less than --memory %s; --memory-swap is memory plus swap, so make it at least as large", o.Memory)
	}
	if h.MemoryReservation, err = opts.Bytes("memory-reservation", o.MemoryReservation); err != nil {
		return nil, err
	}
	if h.NanoCpus, err = opts.NanoCPUs("cpus", o.CPUs); err != nil {
		return nil, err
	}
	if o.CPUShares < 0 {
		return nil, opts.Invalid("cpu-shares", fmt.Sprint(o.CPUShares), "use a positive relative weight, like 512")
	}
	if h.CpusetCpus, err = opts.CPUSet("cpuset-cpus", o.CPUSetCPUs); err != nil {
		return nil, err
	}
	for _, u := range o.Ulimits {
		ul, err := opts.Ulimit("ulimit", u)
		if err != nil {
			return nil, err
		}
		h.Ulimits = append(h.Ulimits, ul)
	}
	if h.RestartPolicy, err = opts.Restart("restart", o.Restart); err != nil {
		return nil, err
	}
	if o.AutoRemove && h.RestartPolicy.GetName() != "no" {
		return nil, opts.Usagef("conflicting options: --restart %s and --rm; a container removed when it exits cannot be restarted, so drop one", o.Restart)
	}
	if h.ExtraHosts, err = opts.Hosts("add-host", o.AddHosts); err != nil {
		return nil, err
	}
	if h.Dns, err = opts.IPs("dns", o.DNS); err != nil {
		return nil, err
	}
	if h.ShmSize, err = opts.Bytes("shm-size", o.ShmSize); err != nil {
		return nil, err
	}
	if h.Sysctls, err = opts.KeyValues("sysctl", o.Sysctls, false); err != nil {
		return nil, err
	}
	if h.Tmpfs, err = opts.Tmpfs("tmpfs", o.Tmpfs); err != nil {
		return nil, err
	}
	return h, nil
}

// Create creates a container and prints its id, as docker create does.
func Create(ctx context.Context, c *agentclient.Client, s Streams, o CreateOptions) error {
	// docker create attaches stdout and stderr, and stdin with -i.
	o.AttachStdin, o.AttachStdout, o.AttachStderr = o.Interactive, true, true
	req, err := o.Request()
	if err != nil {
		return err
	}
	resp, err := create(ctx, c, s, req, o.Registry)
	if err != nil {
		return err
	}
	fmt.Fprintln(s.Out, resp.GetId())
	return nil
}

// create creates the container, pulling its image first as docker's
// CLI does: with --pull always, or when the agent does not have it
// (unless --pull never). Pull progress goes to standard error.
func create(ctx context.Context, c *agentclient.Client, s Streams, req *apiv1.CreateContainerRequest, resolve images.RegistryResolver) (*apiv1.CreateContainerResponse, error) {
	ref := req.GetConfig().GetImage()
	pull := func() error {
		_, err := images.PullTo(ctx, c, s.Err, tty.IsTerminal(s.Err), images.PullOptions{Ref: ref, Platform: req.GetPlatform(), Registry: resolve})
		return err
	}
	if req.GetPull() == "always" {
		if err := pull(); err != nil {
			return nil, err
		}
	}
	resp, err := c.Containers.Create(ctx, req)
	if errdefs.IsNotFound(err) && req.GetPull() != "never" && req.GetPull() != "always" {
		// An image of another platform than --platform's is not found
		// either: the one asked for is pulled, as docker does.
		if _, ierr := c.Images.Inspect(ctx, &apiv1.ImageRef{Ref: ref}); errdefs.IsNotFound(ierr) || req.GetPlatform() != "" {
			fmt.Fprintf(s.Err, "Unable to find image '%s' locally\n", tagged(ref))
			if err := pull(); err != nil {
				return nil, err
			}
			resp, err = c.Containers.Create(ctx, req)
		}
	}
	if err != nil {
		return nil, err
	}
	for _, w := range resp.GetWarnings() {
		fmt.Fprintf(s.Err, "WARNING: %s\n", w)
	}
	return resp, nil
}

// tagged is ref in familiar form with its tag, as docker names an image
// it is about to pull ("busybox:latest").
func tagged(ref string) string {
	n, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.FamiliarString(reference.TagNameOnly(n))
}

package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/skiffrun/skiff/guest/api/portfwd"
	"github.com/skiffrun/skiff/host/containers"
)

// addCreateFlags declares the flags create and run share, docker's names,
// shorthands and defaults.
func addCreateFlags(fs *pflag.FlagSet, o *containers.CreateOptions) {
	fs.SetInterspersed(false)
	// -h is --hostname here, as in docker, so help gets no shorthand.
	fs.Bool("help", false, "Print usage")
	fs.StringVar(&o.Name, "name", "", "Assign a name to the container")
	fs.BoolVarP(&o.Interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	fs.BoolVarP(&o.TTY, "tty", "t", false, "Allocate a pseudo-TTY")
	fs.BoolVar(&o.AutoRemove, "rm", false, "Automatically remove the container and its associated anonymous volumes when it exits")
	fs.StringArrayVarP(&o.Env, "env", "e", nil, "Set environment variables")
	fs.StringArrayVar(&o.EnvFiles, "env-file", nil, "Read in a file of environment variables")
	fs.StringVarP(&o.Workdir, "workdir", "w", "", "Working directory inside the container")
	fs.StringVarP(&o.User, "user", "u", "", `Username or UID (format: "<name|uid>[:<group|gid>]")`)
	fs.StringVar(&o.Entrypoint, "entrypoint", "", "Overwrite the default ENTRYPOINT of the image")
	fs.StringVarP(&o.Hostname, "hostname", "h", "", "Container host name")
	fs.StringVar(&o.Restart, "restart", "no", "Restart policy to apply when a container exits (no, on-failure[:max-retries], always, unless-stopped)")
	fs.StringVarP(&o.Memory, "memory", "m", "", "Memory limit (e.g. 512m, 1g)")
	fs.StringVar(&o.MemorySwap, "memory-swap", "", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
	fs.StringVar(&o.MemoryReservation, "memory-reservation", "", "Memory soft limit")
	fs.StringVar(&o.CPUs, "cpus", "", "Number of CPUs")
	fs.Int64VarP(&o.CPUShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	fs.StringVar(&o.CPUSetCPUs, "cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)")
	fs.Int64Var(&o.PidsLimit, "pids-limit", 0, "Tune container pids limit (set -1 for unlimited)")
	fs.StringArrayVar(&o.Ulimits, "ulimit", nil, "Ulimit options (name=soft[:hard])")
	fs.BoolVar(&o.ReadOnly, "read-only", false, "Mount the container's root filesystem as read only")
	fs.StringArrayVar(&o.CapAdd, "cap-add", nil, "Add Linux capabilities")
	fs.StringArrayVar(&o.CapDrop, "cap-drop", nil, "Drop Linux capabilities")
	fs.BoolVar(&o.Privileged, "privileged", false, "Give extended privileges to this container")
	fs.StringArrayVarP(&o.Labels, "label", "l", nil, "Set meta data on a container")
	fs.StringVar(&o.StopSignal, "stop-signal", "", "Signal to stop the container")
	fs.IntVar(&o.StopTimeout, "stop-timeout", 0, "Timeout (in seconds) to stop a container")
	fs.StringVar(&o.Network, "network", "", "Connect a container to a network")
	fs.StringArrayVar(&o.NetworkAliases, "network-alias", nil, "Add network-scoped alias for the container")
	fs.StringArrayVar(&o.AddHosts, "add-host", nil, "Add a custom host-to-IP mapping (host:ip)")
	fs.StringArrayVar(&o.DNS, "dns", nil, "Set custom DNS servers")
	fs.StringArrayVarP(&o.Publish, "publish", "p", nil, "Publish a container's port(s) to the host ([ip:][hostPort:]containerPort[/proto]; ip defaults to "+portfwd.DefaultHostIP+")")
	fs.BoolVarP(&o.PublishAll, "publish-all", "P", false, "Publish all exposed ports to random ports on "+portfwd.DefaultHostIP)
	fs.StringArrayVar(&o.Expose, "expose", nil, "Expose a port or a range of ports")
	fs.StringVar(&o.ShmSize, "shm-size", "", "Size of /dev/shm")
	fs.BoolVar(&o.Init, "init", false, "Run an init inside the container that forwards signals and reaps processes")
	fs.StringArrayVar(&o.SecurityOpts, "security-opt", nil, "Security Options")
	fs.StringArrayVar(&o.Sysctls, "sysctl", nil, "Sysctl options")
	fs.StringArrayVar(&o.Tmpfs, "tmpfs", nil, "Mount a tmpfs directory")
	fs.StringArrayVarP(&o.Volumes, "volume", "v", nil, "Bind mount a volume")
	fs.StringArrayVar(&o.Mounts, "mount", nil, "Attach a filesystem mount to the container")
	fs.StringVar(&o.Pull, "pull", "missing", `Pull image before running ("always", "missing", "never")`)
	fs.StringVar(&o.Platform, "platform", "", "Set platform if server is multi-platform capable")
	fs.StringVar(&o.HealthCmd, "health-cmd", "", "Command to run to check health")
	fs.DurationVar(&o.HealthInterval, "health-interval", 0, "Time between running the check (ms|s|m|h) (default 0s)")
	fs.DurationVar(&o.HealthTimeout, "health-timeout", 0, "Maximum time to allow one check to run (ms|s|m|h) (default 0s)")
	fs.DurationVar(&o.HealthStartPeriod, "health-start-period", 0, "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)")
	fs.DurationVar(&o.HealthStartInterval, "health-start-interval", 0, "Time between running the check during the start period (ms|s|m|h) (default 0s)")
	fs.IntVar(&o.HealthRetries, "health-retries", 0, "Consecutive failures needed to report unhealthy")
	fs.BoolVar(&o.NoHealthcheck, "no-healthcheck", false, "Disable any container-specified HEALTHCHECK")
}

// createArgs fills what the flags cannot: the image, its command, and
// whether flags whose zero value means something were given at all.
func createArgs(cmd *cobra.Command, args []string, o *containers.CreateOptions) {
	o.Image, o.Args = args[0], args[1:]
	o.EntrypointSet = cmd.Flags().Changed("entrypoint")
	o.StopTimeoutSet = cmd.Flags().Changed("stop-timeout")
}

func newRunCommand(a *app) *cobra.Command {
	var o containers.RunOptions
	cmd := &cobra.Command{
		Use:               "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short:             "Create and run a new container from an image",
		Args:              requiresMinArgs(1),
		ValidArgsFunction: firstArg(completeImages(a)),
		RunE: func(cmd *cobra.Command, args []string) error {
			createArgs(cmd, args, &o.CreateOptions)
			o.Registry = a.registryResolver()
			o.AgentPath = a.agentPath
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return withStatus(containers.Run(cmd.Context(), c, a.containerStreams(), o))
		},
	}
	fs := cmd.Flags()
	addCreateFlags(fs, &o.CreateOptions)
	fs.BoolVarP(&o.Detach, "detach", "d", false, "Run container in background and print container ID")
	fs.BoolVar(&o.SigProxy, "sig-proxy", true, "Proxy received signals to the process")
	fs.StringVar(&o.DetachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return cmd
}

func newCreateCommand(a *app) *cobra.Command {
	var o containers.CreateOptions
	cmd := &cobra.Command{
		Use:               "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short:             "Create a new container",
		Args:              requiresMinArgs(1),
		ValidArgsFunction: firstArg(completeImages(a)),
		RunE: func(cmd *cobra.Command, args []string) error {
			createArgs(cmd, args, &o)
			o.Registry = a.registryResolver()
			o.AgentPath = a.agentPath
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return containers.Create(cmd.Context(), c, a.containerStreams(), o)
		},
	}
	addCreateFlags(cmd.Flags(), &o)
	return cmd
}

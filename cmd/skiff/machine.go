package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/skiffrun/skiff/host/machine"
	"github.com/skiffrun/skiff/host/machines"
	"github.com/skiffrun/skiff/host/tty"
)

// machineSizeFlags are the sizing flags of `skiff machine start` and
// `skiff machine set`; set ones are saved in the machine's config and
// apply from its next start.
type machineSizeFlags struct {
	cpus     int
	memory   string
	diskSize string
	network  string
	o        machines.SizeOptions
}

func (s *machineSizeFlags) add(f *pflag.FlagSet, unshare bool) {
	f.IntVar(&s.cpus, "cpus", 0, "Number of virtual CPUs (saved for later starts)")
	f.StringVar(&s.memory, "memory", "", "Memory, such as 2g (saved for later starts)")
	f.StringVar(&s.diskSize, "disk-size", "", "Size of the sparse data disk, such as 64g (grows it, never shrinks; saved)")
	f.StringArrayVar(&s.o.Share, "share", nil, "Share a host folder with the machine: PATH or PATH:ro (saved)")
	if unshare {
		f.StringArrayVar(&s.o.Unshare, "unshare", nil, "Stop sharing a host folder added with --share (saved)")
		f.StringVar(&s.network, "network", "", "The machine's uplink: user (connections made by the host, the default) or nat (the hypervisor's NAT)")
	}
}

// options are the given flags.
func (s *machineSizeFlags) options(f *pflag.FlagSet) machines.SizeOptions {
	o := s.o
	if f.Changed("cpus") {
		o.CPUs = &s.cpus
	}
	if f.Changed("memory") {
		o.Memory = &s.memory
	}
	if f.Changed("disk-size") {
		o.DiskSize = &s.diskSize
	}
	if f.Changed("network") {
		o.Network = &s.network
	}
	return o
}

func (a *app) machineStreams() machines.Streams {
	return machines.Streams{In: a.in, Out: a.out, Err: a.err, Terminal: tty.IsTerminal(a.err)}
}

func newMachineCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "machine",
		Short: "Manage the machines that run containers",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var sizes machineSizeFlags
	var image string
	start := &cobra.Command{
		Use:   "start [OPTIONS]",
		Short: "Start the machine",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := a.machine()
			if err != nil {
				return err
			}
			return machines.Start(cmd.Context(), m, a.machineStreams(), machines.StartOptions{Sizes: sizes.options(cmd.Flags()), Image: image})
		},
	}
	sizes.add(start.Flags(), false)
	start.Flags().StringVar(&image, "image", "", "Pull and boot this guest image (REGISTRY/REPO@DIGEST or :TAG) instead of the one skiff pins (also SKIFF_VMIMAGE_REF)")
	var statusFormat string
	status := &cobra.Command{
		Use:   "status [OPTIONS]",
		Short: "Show the machine's state, driver, sizes, disk use and uptime",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return machines.Status(cmd.Context(), a.machineOpts, a.out, statusFormat)
		},
	}
	status.Flags().StringVarP(&statusFormat, "format", "f", "", "Format output using a custom template: 'json' or a Go template")
	cmd.AddCommand(
		start,
		&cobra.Command{
			Use:   "stop",
			Short: "Stop the machine and every container in it",
			Args:  noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return machines.Stop(cmd.Context(), a.machineOpts)
			},
		},
		status,
		newMachineLsCommand(a),
		newMachineLogsCommand(a),
		newMachineRmCommand(a),
		newMachineInspectCommand(a),
		newMachineSetCommand(a),
		newMachineUpgradeCommand(a),
	)
	return cmd
}

// newMachineDaemonCommand is the hidden command that runs a machine's host
// daemon; `skiff machine start` and the first command needing the machine
// start it, detached.
func newMachineDaemonCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:    machine.DaemonCommand,
		Hidden: true,
		Args:   noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// --machine and --driver are the root's persistent flags.
			return machine.RunDaemon(cmd.Context(), a.machineOpts, serveDockerAPI)
		},
	}
	cmd.Flags().StringVar(&a.machineOpts.Home, "home", "", "skiff home")
	return cmd
}

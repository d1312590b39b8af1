package main

import (
	"fmt"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/skiffrun/skiff/host/machine"
	"github.com/skiffrun/skiff/host/opts"
)

// machineStartOptions are the flags of `skiff machine start`; set ones are
// saved in the machine's config for later starts.
type machineStartOptions struct {
	cpus     int
	memory   string
	diskSize string
	shares   []string
}

func (o machineStartOptions) config() (machine.Config, error) {
	c := machine.Config{CPUs: o.cpus}
	if o.cpus < 0 {
		return c, opts.Invalid("cpus", fmt.Sprint(o.cpus), "%s", "use a positive number")
	}
	if o.memory != "" {
		b, err := units.RAMInBytes(o.memory)
		if err != nil || b < 1<<20 {
			return c, opts.Invalid("memory", o.memory, "%s", "use a size such as 2g or 4096m")
		}
		c.MemoryMiB = int(b >> 20)
	}
	if o.diskSize != "" {
		b, err := units.RAMInBytes(o.diskSize)
		if err != nil || b <= 0 {
			return c, opts.Invalid("disk-size", o.diskSize, "%s", "use a size such as 64g")
		}
		c.DiskBytes = b &^ (1<<20 - 1)
	}
	for _, s := range o.shares {
		m, err := machine.ParseShare(s)
		if err != nil {
			return c, err
		}
		c.Shares = append(c.Shares, m)
	}
	return c, nil
}

func newMachineCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "machine",
		Short: "Manage the machine that runs containers",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var so machineStartOptions
	start := &cobra.Command{
		Use:   "start [OPTIONS]",
		Short: "Start the machine",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := a.machine()
			if err != nil {
				return err
			}
			c, err := so.config()
			if err != nil {
				return err
			}
			if c.CPUs != 0 || c.MemoryMiB != 0 || c.DiskBytes != 0 || len(c.Shares) > 0 {
				if err := m.Configure(c); err != nil {
					return err
				}
			}
			return m.Start(cmd.Context())
		},
	}
	f := start.Flags()
	f.IntVar(&so.cpus, "cpus", 0, "Number of virtual CPUs (saved for later starts)")
	f.StringVar(&so.memory, "memory", "", "Memory, such as 2g (saved for later starts)")
	f.StringVar(&so.diskSize, "disk-size", "", "Size of the sparse data disk, such as 64g (grows an existing disk; saved)")
	f.StringArrayVar(&so.shares, "share", nil, "Share a host folder with the machine: PATH or PATH:ro (saved)")
	cmd.AddCommand(
		start,
		&cobra.Command{
			Use:   "stop",
			Short: "Stop the machine and every container in it",
			Args:  noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				m, err := a.machine()
				if err != nil {
					return err
				}
				return m.Stop(cmd.Context())
			},
		},
		&cobra.Command{
			Use:   "status",
			Short: "Print whether the machine is running, starting, stopped, or failed",
			Args:  noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				m, err := a.machine()
				if err != nil {
					return err
				}
				st, detail := m.Describe(cmd.Context())
				fmt.Fprintln(a.out, st)
				if detail != "" {
					fmt.Fprintln(a.out, detail)
				}
				return nil
			},
		},
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
			return machine.RunDaemon(cmd.Context(), a.machineOpts)
		},
	}
	cmd.Flags().StringVar(&a.machineOpts.Home, "home", "", "skiff home")
	return cmd
}

package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/skiffrun/skiff/host/machine"
	"github.com/skiffrun/skiff/host/opts"
	"github.com/skiffrun/skiff/host/tty"
	"github.com/skiffrun/skiff/platform"
)

// machineSizeOptions are the sizing flags of `skiff machine start` and
// `skiff machine set`; set ones are saved in the machine's config and
// apply from its next start.
type machineSizeOptions struct {
	cpus     int
	memory   string
	diskSize string
	shares   []string
	unshares []string
}

func (o *machineSizeOptions) addFlags(f *pflag.FlagSet, unshare bool) {
	f.IntVar(&o.cpus, "cpus", 0, "Number of virtual CPUs (saved for later starts)")
	f.StringVar(&o.memory, "memory", "", "Memory, such as 2g (saved for later starts)")
	f.StringVar(&o.diskSize, "disk-size", "", "Size of the sparse data disk, such as 64g (grows it, never shrinks; saved)")
	f.StringArrayVar(&o.shares, "share", nil, "Share a host folder with the machine: PATH or PATH:ro (saved)")
	if unshare {
		f.StringArrayVar(&o.unshares, "unshare", nil, "Stop sharing a host folder added with --share (saved)")
	}
}

// changes checks the flags that were set and turns them into changes.
func (o *machineSizeOptions) changes(f *pflag.FlagSet) (machine.Changes, error) {
	var c machine.Changes
	if f.Changed("cpus") {
		if o.cpus < 1 || o.cpus > platform.MaxCPUs {
			return c, opts.Invalid("cpus", fmt.Sprint(o.cpus), "use 1 to %d", platform.MaxCPUs)
		}
		c.CPUs = o.cpus
	}
	if f.Changed("memory") {
		b, err := units.RAMInBytes(o.memory)
		if err != nil || b < platform.MinMemoryMiB<<20 {
			return c, opts.Invalid("memory", o.memory, "use a size such as 2g or 4096m, at least %dm", platform.MinMemoryMiB)
		}
		c.MemoryMiB = int(b >> 20)
	}
	if f.Changed("disk-size") {
		b, err := units.RAMInBytes(o.diskSize)
		if err != nil || b < platform.MinDiskBytes {
			return c, opts.Invalid("disk-size", o.diskSize, "use a size such as 64g, at least %dm", platform.MinDiskBytes>>20)
		}
		c.DiskBytes = b &^ (1<<20 - 1)
	}
	for _, s := range o.shares {
		m, err := machine.ParseShare(s)
		if err != nil {
			return c, err
		}
		c.Share = append(c.Share, m)
	}
	c.Unshare = o.unshares
	return c, nil
}

func newMachineCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "machine",
		Short: "Manage the machines that run containers",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var so machineSizeOptions
	start := &cobra.Command{
		Use:   "start [OPTIONS]",
		Short: "Start the machine",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := a.machine()
			if err != nil {
				return err
			}
			ch, err := so.changes(cmd.Flags())
			if err != nil {
				return err
			}
			if !ch.Empty() {
				if _, err := m.Set(ch); err != nil {
					return err
				}
			}
			return startMachine(cmd.Context(), m, a.err, tty.IsTerminal(a.err))
		},
	}
	so.addFlags(start.Flags(), false)
	var statusFormat string
	status := &cobra.Command{
		Use:   "status [OPTIONS]",
		Short: "Show the machine's state, driver, sizes, disk use and uptime",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := existingMachine(a)
			if err != nil {
				return err
			}
			in, err := m.Info(cmd.Context(), true)
			if err != nil {
				return err
			}
			return machine.WriteStatus(a.out, in, statusFormat)
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
				m, err := existingMachine(a)
				if err != nil {
					return err
				}
				return m.Stop(cmd.Context())
			},
		},
		status,
		newMachineLsCommand(a),
		newMachineLogsCommand(a),
		newMachineRmCommand(a),
		newMachineInspectCommand(a),
		newMachineSetCommand(a),
	)
	return cmd
}

// existingMachine is the selected machine, which must exist.
func existingMachine(a *app) (*machine.Machine, error) {
	m, err := a.machine()
	if err != nil {
		return nil, err
	}
	return m, m.MustExist()
}

// progressTick paces the boot progress line on a terminal.
const progressTick = 100 * time.Millisecond

// startMachine starts m, showing its progress on w: on a terminal one
// line updated in place with the time taken, else a line when the start
// begins and one when the machine is ready.
func startMachine(ctx context.Context, m *machine.Machine, w io.Writer, terminal bool) error {
	if m.Status(ctx) == machine.Running {
		fmt.Fprintf(w, "Machine %q is already running\n", m.Name())
		return nil
	}
	began := time.Now()
	// The acceleration is known once the daemon has started the VM; the
	// state before that is the last run's.
	accel := ""
	label := func() string {
		how := m.Driver()
		if accel == "" && m.Status(ctx) == machine.Starting {
			accel = m.Accel()
		}
		if accel != "" {
			how += ", " + accel
		}
		return fmt.Sprintf("Starting machine %q (%s)...", m.Name(), how)
	}
	done := make(chan error, 1)
	go func() { done <- m.Start(ctx) }()
	if !terminal {
		fmt.Fprintln(w, label())
		if err := <-done; err != nil {
			return err
		}
		fmt.Fprintf(w, "Machine %q ready in %.1fs\n", m.Name(), time.Since(began).Seconds())
		return nil
	}
	tick := time.NewTicker(progressTick)
	defer tick.Stop()
	last := label()
	for {
		select {
		case err := <-done:
			if err != nil {
				fmt.Fprintf(w, "\r\x1b[K%s failed after %.1fs\n", last, time.Since(began).Seconds())
				return err
			}
			fmt.Fprintf(w, "\r\x1b[K%s ready in %.1fs\n", last, time.Since(began).Seconds())
			return nil
		case <-tick.C:
			last = label()
			fmt.Fprintf(w, "\r\x1b[K%s %.1fs", last, time.Since(began).Seconds())
		}
	}
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

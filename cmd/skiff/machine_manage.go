package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/skiffrun/skiff/host/machine"
	"github.com/skiffrun/skiff/host/machines"
	"github.com/skiffrun/skiff/host/opts"
)

func newMachineLsCommand(a *app) *cobra.Command {
	var o machines.ListOptions
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List machines",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Home = a.machineOpts.Home
			return machines.List(cmd.Context(), a.out, o)
		},
	}
	cmd.Flags().StringVarP(&o.Format, "format", "f", "", "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template")
	cmd.Flags().BoolVarP(&o.Quiet, "quiet", "q", false, "Only display machine names")
	return cmd
}

func newMachineLogsCommand(a *app) *cobra.Command {
	var o machine.LogsOptions
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS]",
		Short: "Print the machine's console log",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Tail < -1 {
				return opts.Invalid("tail", fmt.Sprint(o.Tail), "use a number of lines, or -1 for all")
			}
			return machines.Logs(cmd.Context(), a.machineOpts, a.out, o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.Follow, "follow", "f", false, "Follow log output")
	f.IntVarP(&o.Tail, "tail", "n", -1, "Number of lines to show from the end of the log (-1 for all)")
	f.BoolVar(&o.Daemon, "daemon", false, "Print the host daemon's log instead of the console")
	return cmd
}

func newMachineRmCommand(a *app) *cobra.Command {
	var o machines.RemoveOptions
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] [NAME]",
		Aliases: []string{"remove"},
		Short:   "Remove a machine, its data disk with every image, container and volume in it",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return opts.Usagef("%q accepts at most 1 argument; usage: %s", cmd.CommandPath(), cmd.UseLine())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				a.machineOpts.Name = args[0]
			}
			return machines.Remove(cmd.Context(), a.machineOpts, a.machineStreams(), o)
		},
	}
	cmd.Flags().BoolVarP(&o.Force, "force", "f", false, "Do not ask, and stop the machine first if it runs")
	return cmd
}

func newMachineInspectCommand(a *app) *cobra.Command {
	var value string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] [NAME...]",
		Short: "Display a machine's configuration and state as JSON",
		RunE: func(cmd *cobra.Command, args []string) error {
			return machines.Inspect(cmd.Context(), a.machineOpts, a.out, args, value)
		},
	}
	cmd.Flags().StringVarP(&value, "format", "f", "", "Format output using a custom template: 'json' or a Go template")
	return cmd
}

func newMachineSetCommand(a *app) *cobra.Command {
	var sizes machineSizeFlags
	cmd := &cobra.Command{
		Use:   "set [OPTIONS]",
		Short: "Change the machine's CPUs, memory, disk size or shared folders, from its next start",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return machines.Set(cmd.Context(), a.machineOpts, a.out, sizes.options(cmd.Flags()))
		},
	}
	sizes.add(cmd.Flags(), true)
	return cmd
}

func newMachineUpgradeCommand(a *app) *cobra.Command {
	var o machines.UpgradeOptions
	cmd := &cobra.Command{
		Use:   "upgrade [OPTIONS]",
		Short: "Move the machine to the guest image this skiff pins, keeping its data disk",
		Long: "Pull the guest image the machine's next start would boot (the one this skiff pins, SKIFF_VMIMAGE_REF, or --image) " +
			"and move the machine to it, keeping its images, containers and volumes. A running machine is stopped, after asking, and started again.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return machines.Upgrade(cmd.Context(), a.machineOpts, a.machineStreams(), o)
		},
	}
	cmd.Flags().StringVar(&o.Image, "image", "", "Move to this guest image (REGISTRY/REPO@DIGEST or :TAG)")
	cmd.Flags().BoolVarP(&o.Force, "force", "f", false, "Stop a running machine without asking")
	return cmd
}

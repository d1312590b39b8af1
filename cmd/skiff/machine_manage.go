package main

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/skiffrun/skiff/host/format"
	"github.com/skiffrun/skiff/host/machine"
	"github.com/skiffrun/skiff/host/opts"
)

func newMachineLsCommand(a *app) *cobra.Command {
	var (
		value string
		quiet bool
	)
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List machines",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home := a.machineOpts.Home
			if home == "" {
				h, err := machine.Home()
				if err != nil {
					return err
				}
				home = h
			}
			infos, err := machine.List(cmd.Context(), home)
			if werr := machine.WriteList(a.out, infos, value, quiet); werr != nil {
				return werr
			}
			return err
		},
	}
	cmd.Flags().StringVarP(&value, "format", "f", "", "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only display machine names")
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
			m, err := existingMachine(a)
			if err != nil {
				return err
			}
			return m.Logs(cmd.Context(), a.out, o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.Follow, "follow", "f", false, "Follow log output")
	f.IntVarP(&o.Tail, "tail", "n", -1, "Number of lines to show from the end of the log (-1 for all)")
	f.BoolVar(&o.Daemon, "daemon", false, "Print the host daemon's log instead of the console")
	return cmd
}

func newMachineRmCommand(a *app) *cobra.Command {
	var force bool
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
			m, err := existingMachine(a)
			if err != nil {
				return err
			}
			if !force {
				fmt.Fprintf(a.err, "Remove machine %q and its data disk, with every image, container and volume in it? [y/N] ", m.Name())
				line, _ := bufio.NewReader(a.in).ReadString('\n')
				if ans := strings.ToLower(strings.TrimSpace(line)); ans != "y" && ans != "yes" {
					return fmt.Errorf("machine %q not removed", m.Name())
				}
			}
			if err := m.Remove(cmd.Context(), force); err != nil {
				return err
			}
			fmt.Fprintln(a.out, m.Name())
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not ask, and stop the machine first if it runs")
	return cmd
}

func newMachineInspectCommand(a *app) *cobra.Command {
	var value string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] [NAME...]",
		Short: "Display a machine's configuration and state as JSON",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{""}
			}
			var items []any
			for _, n := range args {
				o := a.machineOpts
				if n != "" {
					o.Name = n
				}
				m, err := machine.New(o)
				if err != nil {
					return err
				}
				if err := m.MustExist(); err != nil {
					return err
				}
				in, err := m.Info(cmd.Context(), true)
				if err != nil {
					return err
				}
				items = append(items, in)
			}
			return format.Inspect(a.out, value, items)
		},
	}
	cmd.Flags().StringVarP(&value, "format", "f", "", "Format output using a custom template: 'json' or a Go template")
	return cmd
}

func newMachineSetCommand(a *app) *cobra.Command {
	var so machineSizeOptions
	cmd := &cobra.Command{
		Use:   "set [OPTIONS]",
		Short: "Change the machine's CPUs, memory, disk size or shared folders, from its next start",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ch, err := so.changes(cmd.Flags())
			if err != nil {
				return err
			}
			if ch.Empty() {
				return opts.Usagef("%q needs at least one of --cpus, --memory, --disk-size, --share, --unshare", cmd.CommandPath())
			}
			m, err := existingMachine(a)
			if err != nil {
				return err
			}
			if _, err := m.Set(ch); err != nil {
				return err
			}
			if st := m.Status(cmd.Context()); st == machine.Running || st == machine.Starting {
				fmt.Fprintf(a.out, "Machine %q updated; the changes apply at its next start (skiff machine stop, then skiff machine start)\n", m.Name())
			} else {
				fmt.Fprintf(a.out, "Machine %q updated; the changes apply when it next starts\n", m.Name())
			}
			return nil
		},
	}
	so.addFlags(cmd.Flags(), true)
	return cmd
}

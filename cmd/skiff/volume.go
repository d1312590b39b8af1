package main

import (
	"github.com/spf13/cobra"

	"github.com/skiffrun/skiff/host/opts"
	"github.com/skiffrun/skiff/host/volumes"
)

// agentPath translates a bind mount's host path for the machine's agent.
func (a *app) agentPath(hostPath string) (string, error) {
	m, err := a.machine()
	if err != nil {
		return "", err
	}
	return m.AgentPath(hostPath)
}

func (a *app) volumeStreams() volumes.Streams {
	return volumes.Streams{In: a.in, Out: a.out, Err: a.err}
}

// newVolumeCommand is docker's "volume" management group.
func newVolumeCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "volume",
		Short: "Manage volumes",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newVolumeCreateCommand(a), newVolumeLsCommand(a), newVolumeInspectCommand(a), newVolumeRmCommand(a), newVolumePruneCommand(a))
	return cmd
}

func newVolumeCreateCommand(a *app) *cobra.Command {
	var o volumes.CreateOptions
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] [VOLUME]",
		Short: "Create a volume",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return exactArgs(1)(cmd, args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if o.Name != "" && o.Name != args[0] {
					return opts.Usagef("conflicting options: either specify --name or provide positional arg, not both")
				}
				o.Name = args[0]
			}
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return volumes.Create(cmd.Context(), c, a.volumeStreams(), o)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.Driver, "driver", "d", "local", "Specify volume driver name")
	fs.StringVar(&o.Name, "name", "", "Specify volume name")
	fs.StringArrayVar(&o.Labels, "label", nil, "Set metadata for a volume")
	fs.StringArrayVarP(&o.Options, "opt", "o", nil, "Set driver specific options")
	return cmd
}

func newVolumeLsCommand(a *app) *cobra.Command {
	var o volumes.ListOptions
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List volumes",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return volumes.List(cmd.Context(), c, a.volumeStreams(), o)
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&o.Quiet, "quiet", "q", false, "Only display volume names")
	fs.StringVar(&o.Format, "format", "", "Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template")
	fs.StringArrayVarP(&o.Filters, "filter", "f", nil, "Provide filter values (e.g. \"dangling=true\")")
	return cmd
}

func newVolumeInspectCommand(a *app) *cobra.Command {
	var o volumes.InspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] VOLUME [VOLUME...]",
		Short: "Display detailed information on one or more volumes",
		Args:  requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Names = args
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return volumes.InspectVolumes(cmd.Context(), c, a.volumeStreams(), o)
		},
	}
	cmd.Flags().StringVarP(&o.Format, "format", "f", "", "Format output using a custom template: 'json', or a Go template")
	return cmd
}

func newVolumeRmCommand(a *app) *cobra.Command {
	var o volumes.RemoveOptions
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] VOLUME [VOLUME...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more volumes",
		Args:    requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Names = args
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return volumes.Remove(cmd.Context(), c, a.volumeStreams(), o)
		},
	}
	cmd.Flags().BoolVarP(&o.Force, "force", "f", false, "Do not fail on a volume that does not exist")
	return cmd
}

func newVolumePruneCommand(a *app) *cobra.Command {
	var o volumes.PruneOptions
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused local volumes",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return volumes.Prune(cmd.Context(), c, a.volumeStreams(), o)
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&o.All, "all", "a", false, "Remove all unused volumes, not just anonymous ones")
	fs.BoolVarP(&o.Force, "force", "f", false, "Do not prompt for confirmation")
	fs.StringArrayVar(&o.Filters, "filter", nil, `Provide filter values (e.g. "label=<label>")`)
	return cmd
}

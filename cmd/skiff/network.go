package main

import (
	"github.com/spf13/cobra"

	"github.com/skiffrun/skiff/host/containers"
	"github.com/skiffrun/skiff/host/networks"
	"github.com/skiffrun/skiff/host/opts"
)

// newNetworkCommand is docker's "network" management group.
func newNetworkCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "network",
		Short: "Manage networks",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newNetworkCreateCommand(a), newNetworkLsCommand(a), newNetworkInspectCommand(a), newNetworkRmCommand(a),
		newNetworkConnectCommand(a), newNetworkDisconnectCommand(a), newNetworkPruneCommand(a))
	return cmd
}

func newNetworkCreateCommand(a *app) *cobra.Command {
	var o networks.CreateOptions
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] NETWORK",
		Short: "Create a network",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return networks.Create(cmd.Context(), c, a.out, o)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.Driver, "driver", "d", "bridge", "Driver to manage the Network")
	fs.StringVar(&o.Subnet, "subnet", "", "Subnet in CIDR format that represents a network segment")
	fs.StringVar(&o.Gateway, "gateway", "", "IPv4 Gateway for the master subnet")
	fs.StringArrayVar(&o.Labels, "label", nil, "Set metadata on a network")
	fs.BoolVar(&o.Internal, "internal", false, "Restrict external access to the network")
	return cmd
}

func newNetworkLsCommand(a *app) *cobra.Command {
	var o networks.ListOptions
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List networks",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return networks.List(cmd.Context(), c, a.out, o)
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&o.Quiet, "quiet", "q", false, "Only display network IDs")
	fs.BoolVar(&o.NoTrunc, "no-trunc", false, "Do not truncate the output")
	fs.StringVar(&o.Format, "format", "", "Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template")
	fs.StringArrayVarP(&o.Filters, "filter", "f", nil, "Provide filter values (e.g. \"driver=bridge\")")
	return cmd
}

func newNetworkInspectCommand(a *app) *cobra.Command {
	var o networks.InspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NETWORK [NETWORK...]",
		Short: "Display detailed information on one or more networks",
		Args:  requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Names = args
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return networks.InspectNetworks(cmd.Context(), c, a.out, o)
		},
	}
	cmd.Flags().StringVarP(&o.Format, "format", "f", "", "Format output using a custom template: 'json', or a Go template")
	return cmd
}

func newNetworkRmCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "rm NETWORK [NETWORK...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more networks",
		Args:    requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return networks.Remove(cmd.Context(), c, a.out, args)
		},
	}
}

func newNetworkConnectCommand(a *app) *cobra.Command {
	var aliases []string
	cmd := &cobra.Command{
		Use:   "connect [OPTIONS] NETWORK CONTAINER",
		Short: "Connect a container to a network",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return networks.Connect(cmd.Context(), c, args[0], args[1], aliases)
		},
	}
	cmd.Flags().StringArrayVar(&aliases, "alias", nil, "Add network-scoped alias for the container")
	return cmd
}

func newNetworkDisconnectCommand(a *app) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "disconnect [OPTIONS] NETWORK CONTAINER",
		Short: "Disconnect a container from a network",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return networks.Disconnect(cmd.Context(), c, args[0], args[1], force)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force the container to disconnect from a network")
	return cmd
}

func newNetworkPruneCommand(a *app) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all unused networks",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return networks.Prune(cmd.Context(), c, a.in, a.out, force)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	return cmd
}

func newPortCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "port CONTAINER [PRIVATE_PORT[/PROTO]]",
		Short: "List port mappings or a specific mapping for the container",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 2 {
				return opts.Usagef("%q requires at most 2 arguments; usage: %s", cmd.CommandPath(), cmd.UseLine())
			}
			return requiresMinArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o := containers.PortOptions{Container: args[0]}
			if len(args) == 2 {
				o.Port = args[1]
			}
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return containers.Port(cmd.Context(), c, a.out, o)
		},
	}
}

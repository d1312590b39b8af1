package main

import (
	"github.com/spf13/cobra"

	"github.com/skiffrun/skiff/host/system"
)

func (a *app) clientInfo() system.Client {
	cl := system.Client{Version: version, GitCommit: gitCommit}
	if m, err := a.machine(); err == nil {
		cl.Machine, cl.Driver = m.Spec().Name, m.Spec().Driver
	}
	return cl
}

func newVersionCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Show the skiff version information",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Asking for a version does not boot a machine.
			c, err := a.client(false)
			if err != nil {
				return err
			}
			return system.Version(cmd.Context(), c, a.out, a.clientInfo())
		},
	}
}

func newInfoCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "info",
		Short: "Display system-wide information",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(false)
			if err != nil {
				return err
			}
			return system.Info(cmd.Context(), c, a.out, a.clientInfo())
		},
	}
}

func newSystemCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "system",
		Short: "Manage skiff",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newInfoCommand(a), newEventsCommand(a), newDFCommand(a))
	return cmd
}

func newDFCommand(a *app) *cobra.Command {
	var o system.DFOptions
	cmd := &cobra.Command{
		Use:   "df [OPTIONS]",
		Short: "Show skiff disk usage",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return system.DF(cmd.Context(), c, a.out, o)
		},
	}
	cmd.Flags().BoolVarP(&o.Verbose, "verbose", "v", false, "Show detailed information on space usage")
	cmd.Flags().StringVar(&o.Format, "format", "", "Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template")
	return cmd
}

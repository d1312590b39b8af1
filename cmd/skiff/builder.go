package main

import (
	"github.com/spf13/cobra"

	"github.com/skiffrun/skiff/host/build"
)

// newBuilderCommand is docker's "builder" management group.
func newBuilderCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "builder",
		Short: "Manage builds",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newBuilderPruneCommand(a))
	return cmd
}

func newBuilderPruneCommand(a *app) *cobra.Command {
	var o build.PruneOptions
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove build cache",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return build.Prune(cmd.Context(), c, a.in, a.out, o)
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&o.All, "all", "a", false, "Remove all unused build cache, not just dangling ones")
	fs.BoolVarP(&o.Force, "force", "f", false, "Do not prompt for confirmation")
	fs.StringArrayVar(&o.Filters, "filter", nil, `Provide filter values (e.g. "until=24h")`)
	fs.StringVar(&o.KeepStorage, "keep-storage", "", "Amount of disk space to keep for cache")
	return cmd
}

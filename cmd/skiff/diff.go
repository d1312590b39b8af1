package main

import (
	"github.com/spf13/cobra"

	"github.com/skiffrun/skiff/host/containers"
)

func newDiffCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:               "diff CONTAINER",
		Short:             "Inspect changes to files or directories on a container's filesystem",
		Args:              exactArgs(1),
		ValidArgsFunction: completeContainers(a, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return containers.Diff(cmd.Context(), c, a.containerStreams(), args[0])
		},
	}
}

func newExportCommand(a *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:               "export [OPTIONS] CONTAINER",
		Short:             "Export a container's filesystem as a tar archive",
		Args:              exactArgs(1),
		ValidArgsFunction: completeContainers(a, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return containers.Export(cmd.Context(), c, a.containerStreams(), args[0], output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Write to a file, instead of STDOUT")
	return cmd
}

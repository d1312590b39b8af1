package main

import (
	"github.com/spf13/cobra"

	"github.com/skiffrun/skiff/host/containers"
)

func newStatsCommand(a *app) *cobra.Command {
	var o containers.StatsOptions
	cmd := &cobra.Command{
		Use:               "stats [OPTIONS] [CONTAINER...]",
		Short:             "Display a live stream of container(s) resource usage statistics",
		ValidArgsFunction: completeContainers(a, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Containers = args
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return containers.Stats(cmd.Context(), c, a.containerStreams(), o)
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&o.All, "all", "a", false, "Show all containers (default shows just running)")
	fs.BoolVar(&o.NoStream, "no-stream", false, "Disable streaming stats and only pull the first result")
	fs.BoolVar(&o.NoTrunc, "no-trunc", false, "Do not truncate output")
	fs.StringVar(&o.Format, "format", "", "Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template")
	return cmd
}

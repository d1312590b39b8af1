package main

import (
	"github.com/spf13/cobra"

	"github.com/skiffrun/skiff/host/containers"
)

func newPauseCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:               "pause CONTAINER [CONTAINER...]",
		Short:             "Pause all processes within one or more containers",
		Args:              requiresMinArgs(1),
		ValidArgsFunction: completeContainers(a, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return containers.Pause(cmd.Context(), c, a.containerStreams(), args)
		},
	}
}

func newUnpauseCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:               "unpause CONTAINER [CONTAINER...]",
		Short:             "Unpause all processes within one or more containers",
		Args:              requiresMinArgs(1),
		ValidArgsFunction: completeContainers(a, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return containers.Unpause(cmd.Context(), c, a.containerStreams(), args)
		},
	}
}

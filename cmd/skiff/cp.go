package main

import (
	"github.com/spf13/cobra"

	"github.com/skiffrun/skiff/host/containers"
)

func newCpCommand(a *app) *cobra.Command {
	var o containers.CopyOptions
	cmd := &cobra.Command{
		Use:   "cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n  skiff cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
		Short: "Copy files/folders between a container and the local filesystem",
		Long: "Copy files/folders between a container and the local filesystem\n\n" +
			"Use '-' as the source to read a tar archive from stdin\n" +
			"and extract it to a directory destination in a container.\n" +
			"Use '-' as the destination to stream a tar archive of a\n" +
			"container source to stdout.",
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Src, o.Dst = args[0], args[1]
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return containers.Copy(cmd.Context(), c, a.containerStreams(), o)
		},
	}
	return cmd
}

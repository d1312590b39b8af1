package main

import (
	"github.com/spf13/cobra"

	"github.com/skiffrun/skiff/host/images"
)

func newHistoryCommand(a *app) *cobra.Command {
	var o images.HistoryOptions
	cmd := &cobra.Command{
		Use:               "history [OPTIONS] IMAGE",
		Short:             "Show the history of an image",
		Args:              exactArgs(1),
		ValidArgsFunction: completeImages(a),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Image = args[0]
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return images.PrintHistory(cmd.Context(), c, a.imageStreams(), o)
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&o.Human, "human", "H", true, "Print sizes and dates in human readable format")
	fs.BoolVar(&o.NoTrunc, "no-trunc", false, "Don't truncate output")
	fs.BoolVarP(&o.Quiet, "quiet", "q", false, "Only show image IDs")
	fs.StringVar(&o.Format, "format", "", "Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template")
	return cmd
}

package main

import (
	"github.com/spf13/cobra"

	"github.com/skiffrun/skiff/host/events"
)

func newEventsCommand(a *app) *cobra.Command {
	var o events.Options
	cmd := &cobra.Command{
		Use:   "events [OPTIONS]",
		Short: "Get real time events from the server",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return events.Print(cmd.Context(), c, a.out, o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Since, "since", "", "Show all events created since timestamp")
	fs.StringVar(&o.Until, "until", "", "Stream events until this timestamp")
	fs.StringArrayVarP(&o.Filters, "filter", "f", nil, "Filter output based on conditions provided")
	fs.StringVar(&o.Format, "format", "", "Format output using a custom template: 'json', or a Go template")
	return cmd
}

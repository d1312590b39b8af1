package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/skiffrun/skiff/host/containers"
	"github.com/skiffrun/skiff/host/opts"
)

func newCommitCommand(a *app) *cobra.Command {
	var o containers.CommitOptions
	cmd := &cobra.Command{
		Use:               "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
		Short:             "Create a new image from a container's changes",
		Args:              rangeArgs(1, 2),
		ValidArgsFunction: completeContainers(a, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Container = args[0]
			if len(args) == 2 {
				o.Reference = args[1]
			}
			c, err := a.client(true)
			if err != nil {
				return err
			}
			id, err := containers.Commit(cmd.Context(), c, o)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.out, id)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.Author, "author", "a", "", `Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")`)
	fs.StringArrayVarP(&o.Changes, "change", "c", nil, "Apply Dockerfile instruction to the created image")
	fs.StringVarP(&o.Message, "message", "m", "", "Commit message")
	fs.BoolVarP(&o.Pause, "pause", "p", true, "Pause container during commit")
	return cmd
}

// rangeArgs accepts min to max arguments, in docker's words.
func rangeArgs(minArgs, maxArgs int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= minArgs && len(args) <= maxArgs {
			return nil
		}
		return opts.Usagef("%q requires at least %d and at most %d arguments; usage: %s", cmd.CommandPath(), minArgs, maxArgs, cmd.UseLine())
	}
}

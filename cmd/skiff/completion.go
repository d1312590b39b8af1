package main

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// completionTimeout keeps a shell's tab from hanging on a slow agent.
const completionTimeout = 2 * time.Second

// completeContainers offers container names; all includes stopped ones.
// Completion never starts a machine.
func completeContainers(a *app, all bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		c, err := a.client(false)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
		defer cancel()
		resp, err := c.Containers.List(ctx, &apiv1.ListContainersRequest{All: all})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, ctr := range resp.GetContainers() {
			if name := strings.TrimPrefix(ctr.GetName(), "/"); strings.HasPrefix(name, toComplete) {
				out = append(out, name)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeImages offers image names (repo:tag).
func completeImages(a *app) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		c, err := a.client(false)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
		defer cancel()
		resp, err := c.Images.List(ctx, &apiv1.ListImagesRequest{})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, img := range resp.GetImages() {
			for _, t := range img.GetRepoTags() {
				if strings.HasPrefix(t, toComplete) {
					out = append(out, t)
				}
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// firstArg limits a completion to the first argument (run's IMAGE, not its
// COMMAND).
func firstArg(f cobra.CompletionFunc) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveDefault
		}
		return f(cmd, args, toComplete)
	}
}

package main

import (
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/skiffrun/skiff/host/images"
	"github.com/skiffrun/skiff/host/inspect"
)

// newImageCommand is docker's "image" management group.
func newImageCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage images",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	ls := newImagesCommand(a)
	ls.Use, ls.Aliases = "ls [OPTIONS] [REPOSITORY[:TAG]]", []string{"list"}
	rm := newRmiCommand(a)
	rm.Use, rm.Aliases = "rm [OPTIONS] IMAGE [IMAGE...]", []string{"remove", "rmi"}
	cmd.AddCommand(ls, newInspectCommand(a, inspect.Image), newTagCommand(a), rm, newLoadCommand(a),
		newPullCommand(a), newPushCommand(a), newSaveCommand(a), newImportCommand(a), newImagePruneCommand(a),
		newHistoryCommand(a))
	return cmd
}

func newImagesCommand(a *app) *cobra.Command {
	var o images.ListOptions
	cmd := &cobra.Command{
		Use:   "images [OPTIONS] [REPOSITORY[:TAG]]",
		Short: "List images",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return exactArgs(1)(cmd, args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Reference = args[0]
			}
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return images.List(cmd.Context(), c, a.imageStreams(), o)
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&o.All, "all", "a", false, "Show all images (default hides intermediate images)")
	fs.BoolVarP(&o.Quiet, "quiet", "q", false, "Only show image IDs")
	fs.BoolVar(&o.Digests, "digests", false, "Show digests")
	fs.BoolVar(&o.NoTrunc, "no-trunc", false, "Don't truncate output")
	fs.StringArrayVarP(&o.Filters, "filter", "f", nil, "Filter output based on conditions provided")
	fs.StringVar(&o.Format, "format", "", "Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template")
	return cmd
}

func newRmiCommand(a *app) *cobra.Command {
	var o images.RemoveOptions
	cmd := &cobra.Command{
		Use:               "rmi [OPTIONS] IMAGE [IMAGE...]",
		Short:             "Remove one or more images",
		Args:              requiresMinArgs(1),
		ValidArgsFunction: completeImages(a),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Images = args
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return images.Remove(cmd.Context(), c, a.imageStreams(), o)
		},
	}
	cmd.Flags().BoolVarP(&o.Force, "force", "f", false, "Force removal of the image")
	return cmd
}

func newTagCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:               "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		Short:             "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
		Args:              exactArgs(2),
		ValidArgsFunction: completeImages(a),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return images.Tag(cmd.Context(), c, args[0], args[1])
		},
	}
}

func newLoadCommand(a *app) *cobra.Command {
	var o images.LoadOptions
	cmd := &cobra.Command{
		Use:   "load [OPTIONS]",
		Short: "Load an image from a tar archive or STDIN",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return images.Load(cmd.Context(), c, a.imageStreams(), o, func(name string) (io.ReadCloser, error) { return os.Open(name) })
		},
	}
	cmd.Flags().StringVarP(&o.Input, "input", "i", "", "Read from tar archive file, instead of STDIN")
	cmd.Flags().BoolVarP(&o.Quiet, "quiet", "q", false, "Suppress the load output")
	return cmd
}

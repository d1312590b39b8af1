package main

import (
	"github.com/spf13/cobra"

	"github.com/skiffrun/skiff/host/build"
)

// newBuildCommand is docker build. Like docker build, it exits 1 when the
// build fails.
func newBuildCommand(a *app) *cobra.Command {
	var o build.Options
	cmd := &cobra.Command{
		Use:         "build [OPTIONS] PATH",
		Short:       "Build an image from a Dockerfile",
		Args:        exactArgs(1),
		Annotations: map[string]string{annotationFailureCode: "1"},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.ContextDir = args[0]
			o.Registry = a.registryResolver()
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return build.Build(cmd.Context(), c, build.Streams{In: a.in, Out: a.out, Err: a.err}, o)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.Dockerfile, "file", "f", "", "Name of the Dockerfile (default: 'PATH/Dockerfile'; '-' reads standard input)")
	fs.StringArrayVarP(&o.Tags, "tag", "t", nil, "Name and optionally a tag in the 'name:tag' format")
	fs.StringVar(&o.Target, "target", "", "Set the target build stage to build")
	fs.BoolVar(&o.NoCache, "no-cache", false, "Do not use cache when building the image")
	fs.StringArrayVar(&o.BuildArgs, "build-arg", nil, "Set build-time variables")
	fs.StringArrayVar(&o.Labels, "label", nil, "Set metadata for an image")
	fs.BoolVar(&o.Pull, "pull", false, "Always attempt to pull a newer version of the base images")
	fs.BoolVarP(&o.Quiet, "quiet", "q", false, "Suppress the build output and print image ID on success")
	fs.StringVar(&o.Progress, "progress", "auto", "Set type of progress output (auto, plain, tty)")
	fs.StringVar(&o.Platform, "platform", "", "Set platform if server is multi-platform capable")
	return cmd
}

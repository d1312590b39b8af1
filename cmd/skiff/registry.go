package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/images"
	"github.com/skiffrun/skiff/host/machine"
	"github.com/skiffrun/skiff/host/opts"
	"github.com/skiffrun/skiff/host/registry"
)

// registryResolver resolves credentials and insecure registries on the
// host, per request: docker's config.json and skiff's settings are read
// when a pull or push needs them.
func (a *app) registryResolver() images.RegistryResolver {
	return func(ref string) (*apiv1.RegistryOptions, error) {
		s, err := a.registrySettings()
		if err != nil {
			return nil, err
		}
		return registry.Options(ref, s, nil)
	}
}

func (a *app) registrySettings() (*registry.Settings, error) {
	home, err := machine.Home()
	if err != nil {
		return nil, err
	}
	return registry.LoadSettings(home)
}

func newPullCommand(a *app) *cobra.Command {
	var o images.PullOptions
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] NAME[:TAG|@DIGEST]",
		Short: "Download an image from a registry",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Ref, o.Registry = args[0], a.registryResolver()
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return images.Pull(cmd.Context(), c, a.imageStreams(), o)
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&o.Quiet, "quiet", "q", false, "Suppress verbose output")
	fs.StringVar(&o.Platform, "platform", "", "Set platform if server is multi-platform capable")
	return cmd
}

func newPushCommand(a *app) *cobra.Command {
	var o images.PushOptions
	cmd := &cobra.Command{
		Use:               "push [OPTIONS] NAME[:TAG]",
		Short:             "Upload an image to a registry",
		Args:              exactArgs(1),
		ValidArgsFunction: completeImages(a),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Ref, o.Registry = args[0], a.registryResolver()
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return images.Push(cmd.Context(), c, a.imageStreams(), o)
		},
	}
	cmd.Flags().BoolVarP(&o.Quiet, "quiet", "q", false, "Suppress verbose output")
	return cmd
}

func newSaveCommand(a *app) *cobra.Command {
	var o images.SaveOptions
	cmd := &cobra.Command{
		Use:               "save [OPTIONS] IMAGE [IMAGE...]",
		Short:             "Save one or more images to a tar archive (streamed to STDOUT by default)",
		Args:              requiresMinArgs(1),
		ValidArgsFunction: completeImages(a),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Images = args
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return images.Save(cmd.Context(), c, a.imageStreams(), o)
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Write to a file, instead of STDOUT")
	return cmd
}

func newImportCommand(a *app) *cobra.Command {
	var o images.ImportOptions
	cmd := &cobra.Command{
		Use:   "import [OPTIONS] file|- [REPOSITORY[:TAG]]",
		Short: "Import the contents from a tarball to create a filesystem image",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return opts.Usagef("\"%s\" requires at least 1 and at most 2 arguments", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Source = args[0]
			if len(args) == 2 {
				o.Reference = args[1]
			}
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return images.Import(cmd.Context(), c, a.imageStreams(), o)
		},
	}
	fs := cmd.Flags()
	fs.StringArrayVarP(&o.Changes, "change", "c", nil, "Apply Dockerfile instruction to the created image")
	fs.StringVarP(&o.Message, "message", "m", "", "Set commit message for imported image")
	fs.StringVar(&o.Platform, "platform", "", "Set platform if server is multi-platform capable")
	return cmd
}

func newImagePruneCommand(a *app) *cobra.Command {
	var o images.PruneOptions
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused images",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return images.Prune(cmd.Context(), c, a.imageStreams(), o)
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&o.All, "all", "a", false, "Remove all unused images, not just dangling ones")
	fs.BoolVarP(&o.Force, "force", "f", false, "Do not prompt for confirmation")
	fs.StringArrayVar(&o.Filters, "filter", nil, `Provide filter values (e.g. "until=<timestamp>")`)
	return cmd
}

type loginOptions struct {
	username, password string
	passwordStdin      bool
}

func newLoginCommand(a *app) *cobra.Command {
	var o loginOptions
	cmd := &cobra.Command{
		Use:   "login [OPTIONS] [SERVER]",
		Short: "Log in to a registry",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return exactArgs(1)(cmd, args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			server := ""
			if len(args) == 1 {
				server = args[0]
			}
			return login(cmd, a, server, o)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.username, "username", "u", "", "Username")
	fs.StringVarP(&o.password, "password", "p", "", "Password")
	fs.BoolVar(&o.passwordStdin, "password-stdin", false, "Take the password from stdin")
	return cmd
}

func login(cmd *cobra.Command, a *app, server string, o loginOptions) error {
	if o.password != "" && o.passwordStdin {
		return opts.Usagef("--password and --password-stdin are mutually exclusive")
	}
	if o.passwordStdin {
		if o.username == "" {
			return opts.Usagef("must provide --username with --password-stdin")
		}
		data, err := io.ReadAll(a.in)
		if err != nil {
			return fmt.Errorf("read password from stdin: %w", err)
		}
		o.password = strings.TrimRight(string(data), "\r\n")
	} else if o.password != "" {
		fmt.Fprintln(a.err, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
	}
	if o.username == "" || o.password == "" {
		// Without a terminal to ask on, both must be given.
		r := bufio.NewReader(a.in)
		if o.username == "" {
			fmt.Fprint(a.out, "Username: ")
			line, _ := r.ReadString('\n')
			o.username = strings.TrimSpace(line)
		}
		if o.password == "" {
			fmt.Fprint(a.out, "Password: ")
			line, _ := r.ReadString('\n')
			o.password = strings.TrimRight(line, "\r\n")
		}
		if o.username == "" || o.password == "" {
			return opts.Usagef("a username and password are required: skiff login -u USER --password-stdin %s", server)
		}
	}
	s, err := a.registrySettings()
	if err != nil {
		return err
	}
	if err := registry.Verify(cmd.Context(), server, o.username, o.password, s); err != nil {
		return err
	}
	if err := registry.Save(server, o.username, o.password); err != nil {
		return err
	}
	fmt.Fprintln(a.out, "Login Succeeded")
	return nil
}

func newLogoutCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "logout [SERVER]",
		Short: "Log out from a registry",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return exactArgs(1)(cmd, args)
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			server := ""
			if len(args) == 1 {
				server = args[0]
			}
			shown := server
			if shown == "" {
				shown = "https://index.docker.io/v1/"
			}
			had, err := registry.Erase(server)
			if err != nil {
				return err
			}
			if !had {
				fmt.Fprintf(a.out, "Not logged in to %s\n", shown)
				return nil
			}
			fmt.Fprintf(a.out, "Removing login credentials for %s\n", shown)
			return nil
		},
	}
}

package main

import (
	"github.com/spf13/cobra"

	"github.com/skiffrun/skiff/host/containers"
	"github.com/skiffrun/skiff/host/inspect"
)

// newContainerCommand is docker's "container" management group; its
// subcommands are also top-level commands, built afresh for each parent.
func newContainerCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "container",
		Short: "Manage containers",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	ls := newPsCommand(a)
	ls.Use, ls.Aliases = "ls [OPTIONS]", []string{"ps", "list"}
	cmd.AddCommand(
		newCreateCommand(a),
		newRunCommand(a),
		newStartCommand(a),
		newAttachCommand(a),
		newExecCommand(a),
		newLogsCommand(a),
		ls,
		newInspectCommand(a, inspect.Container),
		newStopCommand(a),
		newKillCommand(a),
		newRestartCommand(a),
		newRmCommand(a),
		newWaitCommand(a),
		newRenameCommand(a),
		newCommitCommand(a),
		newDiffCommand(a),
		newExportCommand(a),
		newUpdateCommand(a),
		newTopCommand(a),
		newPruneCommand(a),
		newPauseCommand(a),
		newCpCommand(a),
		newStatsCommand(a),
		newUnpauseCommand(a),
	)
	return cmd
}

func newStartCommand(a *app) *cobra.Command {
	var o containers.StartOptions
	cmd := &cobra.Command{
		Use:               "start [OPTIONS] CONTAINER [CONTAINER...]",
		Short:             "Start one or more stopped containers",
		Args:              requiresMinArgs(1),
		ValidArgsFunction: completeContainers(a, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Containers = args
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return withStatus(containers.Start(cmd.Context(), c, a.containerStreams(), o))
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&o.Attach, "attach", "a", false, "Attach STDOUT/STDERR and forward signals")
	fs.BoolVarP(&o.Interactive, "interactive", "i", false, "Attach container's STDIN")
	fs.StringVar(&o.DetachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return cmd
}

func newAttachCommand(a *app) *cobra.Command {
	var o containers.AttachOptions
	cmd := &cobra.Command{
		Use:               "attach [OPTIONS] CONTAINER",
		Short:             "Attach local standard input, output, and error streams to a running container",
		Args:              exactArgs(1),
		ValidArgsFunction: completeContainers(a, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Container = args[0]
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return withStatus(containers.Attach(cmd.Context(), c, a.containerStreams(), o))
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&o.NoStdin, "no-stdin", false, "Do not attach STDIN")
	fs.BoolVar(&o.SigProxy, "sig-proxy", true, "Proxy all received signals to the process")
	fs.StringVar(&o.DetachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return cmd
}

func newExecCommand(a *app) *cobra.Command {
	var o containers.ExecOptions
	cmd := &cobra.Command{
		Use:               "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
		Short:             "Execute a command in a running container",
		Args:              requiresMinArgs(2),
		ValidArgsFunction: completeContainers(a, false),
		Annotations:       map[string]string{annotationFailureCode: "1"},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Container, o.Args = args[0], args[1:]
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return withStatus(containers.Exec(cmd.Context(), c, a.containerStreams(), o))
		},
	}
	fs := cmd.Flags()
	fs.SetInterspersed(false)
	fs.BoolVarP(&o.Detach, "detach", "d", false, "Detached mode: run command in the background")
	fs.BoolVarP(&o.Interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	fs.BoolVarP(&o.TTY, "tty", "t", false, "Allocate a pseudo-TTY")
	fs.StringArrayVarP(&o.Env, "env", "e", nil, "Set environment variables")
	fs.StringArrayVar(&o.EnvFiles, "env-file", nil, "Read in a file of environment variables")
	fs.StringVarP(&o.Workdir, "workdir", "w", "", "Working directory inside the container")
	fs.StringVarP(&o.User, "user", "u", "", `Username or UID (format: "<name|uid>[:<group|gid>]")`)
	fs.BoolVar(&o.Privileged, "privileged", false, "Give extended privileges to the command")
	fs.StringVar(&o.DetachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return cmd
}

func newLogsCommand(a *app) *cobra.Command {
	var o containers.LogsOptions
	cmd := &cobra.Command{
		Use:               "logs [OPTIONS] CONTAINER",
		Short:             "Fetch the logs of a container",
		Args:              exactArgs(1),
		ValidArgsFunction: completeContainers(a, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Container = args[0]
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return containers.Logs(cmd.Context(), c, a.containerStreams(), o)
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&o.Follow, "follow", "f", false, "Follow log output")
	fs.StringVarP(&o.Tail, "tail", "n", "all", "Number of lines to show from the end of the logs")
	fs.BoolVarP(&o.Timestamps, "timestamps", "t", false, "Show timestamps")
	fs.StringVar(&o.Since, "since", "", `Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)`)
	fs.StringVar(&o.Until, "until", "", `Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)`)
	return cmd
}

func newPsCommand(a *app) *cobra.Command {
	var o containers.ListOptions
	cmd := &cobra.Command{
		Use:   "ps [OPTIONS]",
		Short: "List containers",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return containers.List(cmd.Context(), c, a.containerStreams(), o)
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&o.All, "all", "a", false, "Show all containers (default shows just running)")
	fs.BoolVarP(&o.Quiet, "quiet", "q", false, "Only display container IDs")
	fs.BoolVarP(&o.Size, "size", "s", false, "Display total file sizes")
	fs.BoolVar(&o.NoTrunc, "no-trunc", false, "Don't truncate output")
	fs.BoolVarP(&o.Latest, "latest", "l", false, "Show the latest created container (includes all states)")
	fs.IntVarP(&o.Last, "last", "n", -1, "Show n last created containers (includes all states)")
	fs.StringArrayVarP(&o.Filters, "filter", "f", nil, "Filter output based on conditions provided")
	fs.StringVar(&o.Format, "format", "", "Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template")
	return cmd
}

// newInspectCommand is inspect for objects of type typ, or of any type
// (with a --type flag) when typ is "".
func newInspectCommand(a *app, typ string) *cobra.Command {
	o := inspect.Options{Type: typ}
	cmd := &cobra.Command{
		Use:               "inspect [OPTIONS] NAME|ID [NAME|ID...]",
		Short:             "Return low-level information on skiff objects",
		Args:              requiresMinArgs(1),
		ValidArgsFunction: completeContainers(a, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Refs = args
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return inspect.Inspect(cmd.Context(), c, a.out, o)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.Format, "format", "f", "", "Format output using a custom template: 'json', or a Go template")
	switch typ {
	case inspect.Container:
		cmd.Use, cmd.Short = "inspect [OPTIONS] CONTAINER [CONTAINER...]", "Display detailed information on one or more containers"
		fs.BoolVarP(&o.Size, "size", "s", false, "Display total file sizes")
	case inspect.Image:
		cmd.Use, cmd.Short = "inspect [OPTIONS] IMAGE [IMAGE...]", "Display detailed information on one or more images"
		cmd.ValidArgsFunction = completeImages(a)
	default:
		fs.BoolVarP(&o.Size, "size", "s", false, "Display total file sizes if the type is container")
		fs.StringVar(&o.Type, "type", "", "Only inspect objects of the given type (container or image)")
	}
	return cmd
}

func newStopCommand(a *app) *cobra.Command {
	var o containers.StopOptions
	cmd := &cobra.Command{
		Use:               "stop [OPTIONS] CONTAINER [CONTAINER...]",
		Short:             "Stop one or more running containers",
		Args:              requiresMinArgs(1),
		ValidArgsFunction: completeContainers(a, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Containers, o.TimeoutSet = args, cmd.Flags().Changed("time")
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return containers.Stop(cmd.Context(), c, a.containerStreams(), o)
		},
	}
	cmd.Flags().IntVarP(&o.Timeout, "time", "t", 0, "Seconds to wait before killing the container")
	cmd.Flags().StringVarP(&o.Signal, "signal", "s", "", "Signal to send to the container")
	return cmd
}

func newRestartCommand(a *app) *cobra.Command {
	var o containers.StopOptions
	cmd := &cobra.Command{
		Use:               "restart [OPTIONS] CONTAINER [CONTAINER...]",
		Short:             "Restart one or more containers",
		Args:              requiresMinArgs(1),
		ValidArgsFunction: completeContainers(a, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Containers, o.TimeoutSet = args, cmd.Flags().Changed("time")
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return containers.Restart(cmd.Context(), c, a.containerStreams(), o)
		},
	}
	cmd.Flags().IntVarP(&o.Timeout, "time", "t", 0, "Seconds to wait before killing the container")
	cmd.Flags().StringVarP(&o.Signal, "signal", "s", "", "Signal to send to the container")
	return cmd
}

func newKillCommand(a *app) *cobra.Command {
	var o containers.KillOptions
	cmd := &cobra.Command{
		Use:               "kill [OPTIONS] CONTAINER [CONTAINER...]",
		Short:             "Kill one or more running containers",
		Args:              requiresMinArgs(1),
		ValidArgsFunction: completeContainers(a, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Containers = args
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return containers.Kill(cmd.Context(), c, a.containerStreams(), o)
		},
	}
	cmd.Flags().StringVarP(&o.Signal, "signal", "s", "", "Signal to send to the container (default KILL)")
	return cmd
}

func newRmCommand(a *app) *cobra.Command {
	var o containers.RemoveOptions
	cmd := &cobra.Command{
		Use:               "rm [OPTIONS] CONTAINER [CONTAINER...]",
		Aliases:           []string{"remove"},
		Short:             "Remove one or more containers",
		Args:              requiresMinArgs(1),
		ValidArgsFunction: completeContainers(a, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Containers = args
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return containers.Remove(cmd.Context(), c, a.containerStreams(), o)
		},
	}
	cmd.Flags().BoolVarP(&o.Force, "force", "f", false, "Force the removal of a running container (uses SIGKILL)")
	cmd.Flags().BoolVarP(&o.Volumes, "volumes", "v", false, "Remove anonymous volumes associated with the container")
	return cmd
}

func newWaitCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:               "wait CONTAINER [CONTAINER...]",
		Short:             "Block until one or more containers stop, then print their exit codes",
		Args:              requiresMinArgs(1),
		ValidArgsFunction: completeContainers(a, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return containers.Wait(cmd.Context(), c, a.containerStreams(), args)
		},
	}
}

func newRenameCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:               "rename CONTAINER NEW_NAME",
		Short:             "Rename a container",
		Args:              exactArgs(2),
		ValidArgsFunction: completeContainers(a, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return containers.Rename(cmd.Context(), c, args[0], args[1])
		},
	}
}

func newTopCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:               "top CONTAINER [ps OPTIONS]",
		Short:             "Display the running processes of a container",
		Args:              requiresMinArgs(1),
		ValidArgsFunction: completeContainers(a, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return containers.Top(cmd.Context(), c, a.containerStreams(), args[0], args[1:])
		},
	}
	cmd.Flags().SetInterspersed(false)
	return cmd
}

func newPruneCommand(a *app) *cobra.Command {
	var o containers.PruneOptions
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all stopped containers",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return containers.Prune(cmd.Context(), c, a.containerStreams(), o)
		},
	}
	cmd.Flags().BoolVarP(&o.Force, "force", "f", false, "Do not prompt for confirmation")
	cmd.Flags().StringArrayVar(&o.Filters, "filter", nil, `Provide filter values (e.g. "until=<timestamp>")`)
	return cmd
}

package main

import (
	"errors"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/host/containers"
	"github.com/skiffrun/skiff/host/images"
	"github.com/skiffrun/skiff/host/machine"
	"github.com/skiffrun/skiff/host/opts"
)

// app is what every command shares: the standard streams, the global
// flags, and the machine and its client, made on first use so a command
// that fails its own checks, or needs no machine, costs nothing.
type app struct {
	in       io.Reader
	out, err io.Writer

	machineOpts machine.Options

	m       *machine.Machine
	clients []*agentclient.Client
}

func (a *app) machine() (*machine.Machine, error) {
	if a.m == nil {
		m, err := machine.New(a.machineOpts)
		if err != nil {
			return nil, err
		}
		a.m = m
	}
	return a.m, nil
}

// client returns a client of the machine's agent; with autoStart, its
// first call starts the machine when it does not answer.
func (a *app) client(autoStart bool) (*agentclient.Client, error) {
	m, err := a.machine()
	if err != nil {
		return nil, err
	}
	c, err := m.Client(autoStart)
	if err != nil {
		return nil, err
	}
	a.clients = append(a.clients, c)
	return c, nil
}

func (a *app) close() {
	for _, c := range a.clients {
		_ = c.Close()
	}
}

func (a *app) containerStreams() containers.Streams {
	return containers.Streams{In: a.in, Out: a.out, Err: a.err}
}

func (a *app) imageStreams() images.Streams {
	return images.Streams{In: a.in, Out: a.out, Err: a.err}
}

// newRootCommand builds the whole command tree.
func newRootCommand(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:           "skiff [OPTIONS] COMMAND",
		Short:         "Run Linux containers, the docker way, on any host",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Arbitrary args reach RunE, which says an unknown command is
		// not one, in docker's words.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return opts.Usagef("'%s' is not a skiff command", args[0])
		},
		CompletionOptions: cobra.CompletionOptions{},
	}
	root.SetVersionTemplate("skiff version {{.Version}}\n")
	root.SetFlagErrorFunc(flagError)
	pf := root.PersistentFlags()
	pf.StringVar(&a.machineOpts.Name, "machine", "", "Machine to use (default $SKIFF_MACHINE, else \"default\")")
	pf.StringVar(&a.machineOpts.Driver, "driver", "", "Machine driver (default $SKIFF_DRIVER, else the platform's)")

	root.AddGroup(
		&cobra.Group{ID: "common", Title: "Common Commands:"},
		&cobra.Group{ID: "management", Title: "Management Commands:"},
		&cobra.Group{ID: "commands", Title: "Commands:"},
	)
	common := func(c *cobra.Command) *cobra.Command { c.GroupID = "common"; return c }
	mgmt := func(c *cobra.Command) *cobra.Command { c.GroupID = "management"; return c }
	other := func(c *cobra.Command) *cobra.Command { c.GroupID = "commands"; return c }

	root.AddCommand(
		newMachineDaemonCommand(a),
		newDockerAPICommand(a),
		common(newRunCommand(a)),
		common(newExecCommand(a)),
		common(newPsCommand(a)),
		common(newPullCommand(a)),
		common(newPushCommand(a)),
		common(newBuildCommand(a)),
		common(newComposeCommand(a)),
		common(newImagesCommand(a)),
		common(newLoginCommand(a)),
		common(newLogoutCommand(a)),
		common(newVersionCommand(a)),
		common(newInfoCommand(a)),
		mgmt(newContainerCommand(a)),
		mgmt(newImageCommand(a)),
		mgmt(newBuilderCommand(a)),
		mgmt(newSystemCommand(a)),
		mgmt(newMachineCommand(a)),
		mgmt(newVolumeCommand(a)),
		mgmt(newNetworkCommand(a)),
		other(newPortCommand(a)),
		other(newCreateCommand(a)),
		other(newStartCommand(a)),
		other(newAttachCommand(a)),
		other(newLogsCommand(a)),
		other(newInspectCommand(a, "")),
		other(newStopCommand(a)),
		other(newKillCommand(a)),
		other(newRestartCommand(a)),
		other(newRmCommand(a)),
		other(newWaitCommand(a)),
		other(newRenameCommand(a)),
		other(newTopCommand(a)),
		other(newRmiCommand(a)),
		other(newTagCommand(a)),
		other(newHistoryCommand(a)),
		other(newCommitCommand(a)),
		other(newDiffCommand(a)),
		other(newExportCommand(a)),
		other(newUpdateCommand(a)),
		other(newLoadCommand(a)),
		other(newSaveCommand(a)),
		other(newImportCommand(a)),
		other(newEventsCommand(a)),
		other(newPauseCommand(a)),
		other(newCpCommand(a)),
		other(newStatsCommand(a)),
		other(newUnpauseCommand(a)),
	)
	// Usage lines read as docker's: "skiff run [OPTIONS] IMAGE ...".
	var plain func(*cobra.Command)
	plain = func(c *cobra.Command) {
		c.DisableFlagsInUseLine = true
		for _, sub := range c.Commands() {
			plain(sub)
		}
	}
	plain(root)
	return root
}

// flagError rephrases pflag's complaints in skiff's words; report adds
// where to read more.
func flagError(_ *cobra.Command, err error) error {
	var inv *pflag.InvalidValueError
	if errors.As(err, &inv) {
		why := "not a valid value"
		switch inv.GetFlag().Value.Type() {
		case "int", "int32", "int64", "uint", "uint64":
			why = "use a whole number"
		case "bool":
			why = "use true or false"
		}
		return opts.Invalid(inv.GetFlag().Name, inv.GetValue(), "%s", why)
	}
	return opts.Usagef("%s", err.Error())
}

// Argument checks, in docker's words.
func requiresMinArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= n {
			return nil
		}
		return opts.Usagef("%q requires at least %d %s; usage: %s", cmd.CommandPath(), n, plural(n, "argument"), cmd.UseLine())
	}
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		return opts.Usagef("%q requires exactly %d %s; usage: %s", cmd.CommandPath(), n, plural(n, "argument"), cmd.UseLine())
	}
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	return opts.Usagef("%q accepts no arguments; usage: %s", cmd.CommandPath(), cmd.UseLine())
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

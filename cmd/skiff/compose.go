package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/skiffrun/skiff/host/compose"
	"github.com/skiffrun/skiff/host/dockerapi"
	"github.com/skiffrun/skiff/host/opts"
	"github.com/skiffrun/skiff/host/tty"
)

// newComposeCommand is `skiff compose`: docker compose, the binary make
// ships beside skiff, run against the selected machine's Docker API with
// every argument passed through and its exit code kept.
func newComposeCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "compose [OPTIONS] COMMAND",
		Short: "Define and run multi-container applications (docker compose)",
		// Every flag is compose's, but for skiff's own --machine and
		// --driver in front of it.
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			args, err := a.takeMachineFlags(args)
			if err != nil {
				return err
			}
			plugin, err := compose.Find()
			if err != nil {
				return err
			}
			m, err := a.machine()
			if err != nil {
				return err
			}
			if needsMachine(args) {
				if err := m.Start(cmd.Context()); err != nil {
					return err
				}
				if err := m.EnsureDockerAPI(cmd.Context()); err != nil {
					return err
				}
			}
			code, err := compose.Run(cmd.Context(),
				compose.Streams{In: a.in, Out: a.out, Err: a.err},
				compose.Options{
					Plugin:     plugin,
					DockerHost: dockerapi.Address(m.DockerSocket(), m.Name()),
					Args:       args,
					Terminal:   tty.IsTerminal(a.in) || tty.IsTerminal(a.out),
				})
			return withStatus(code, err)
		},
	}
}

// takeMachineFlags removes skiff's --machine and --driver from the front
// of compose's arguments, where cobra leaves them when it parses no flags
// (skiff --machine dev compose up, or skiff compose --machine dev up).
func (a *app) takeMachineFlags(args []string) ([]string, error) {
	for len(args) > 0 {
		var dst *string
		name, value, hasValue := strings.Cut(args[0], "=")
		switch name {
		case "--machine":
			dst = &a.machineOpts.Name
		case "--driver":
			dst = &a.machineOpts.Driver
		default:
			return args, nil
		}
		args = args[1:]
		if !hasValue {
			if len(args) == 0 {
				return nil, opts.Usagef("flag needs an argument: %s", name)
			}
			value, args = args[0], args[1:]
		}
		*dst = value
	}
	return args, nil
}

// needsMachine reports whether compose will talk to the machine: asking
// it for help or its version does not start one.
func needsMachine(args []string) bool {
	if len(args) == 0 {
		return false
	}
	switch args[0] {
	case "help", "--help", "-h", "version", "--version", "-v":
		return false
	}
	return true
}

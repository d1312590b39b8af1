package main

import (
	"context"
	"log"

	"github.com/spf13/cobra"

	"github.com/skiffrun/skiff/guest/api/wire"
	"github.com/skiffrun/skiff/host/dockerapi"
	"github.com/skiffrun/skiff/host/machine"
)

// serveDockerAPI serves the Docker API on m's docker socket until ctx
// ends: the service the host daemon (or, for a detached machine, the
// docker API process) runs.
func serveDockerAPI(ctx context.Context, m *machine.Machine) error {
	c, err := m.Client(false)
	if err != nil {
		return err
	}
	defer c.Close()
	cli := &app{}
	srv := dockerapi.New(dockerapi.Backend{
		Client:    c,
		AgentPath: m.AgentPath,
		Registry:  cli.registryResolver(),
		Settings:  cli.registrySettings,
		Version:   version,
		Machine:   m.Name(),
		Driver:    m.Driver(),
	})
	l, err := dockerapi.Listen(m.DockerSocket(), m.Name())
	if err != nil {
		return err
	}
	log.Printf("skiff: machine %q: docker API on %s", m.Name(), dockerapi.Address(m.DockerSocket(), m.Name()))
	// The same API inside a VM, at its /var/run/docker.sock: the agent
	// carries each connection there to the host daemon.
	gl, err := m.ListenGuest(wire.ServiceDocker)
	if err != nil {
		_ = l.Close() // nothing was served on it
		return err
	}
	if gl != nil {
		go func() {
			if err := dockerapi.Serve(ctx, gl, srv); err != nil && ctx.Err() == nil {
				log.Printf("skiff: machine %q: docker API inside the machine: %v", m.Name(), err)
			}
		}()
	}
	return dockerapi.Serve(ctx, l, srv)
}

func init() { machine.RegisterDockerAPI() }

// newDockerAPICommand is the hidden command that serves a detached
// (native) machine's docker socket; the machine's start starts it.
func newDockerAPICommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:    machine.DockerAPICommand,
		Hidden: true,
		Args:   noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return machine.RunDockerAPI(cmd.Context(), a.machineOpts, serveDockerAPI)
		},
	}
	cmd.Flags().StringVar(&a.machineOpts.Home, "home", "", "skiff home")
	return cmd
}

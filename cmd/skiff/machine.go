package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newMachineCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "machine",
		Short: "Manage the machine that runs containers",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:   "start",
			Short: "Start the machine",
			Args:  noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				m, err := a.machine()
				if err != nil {
					return err
				}
				return m.Start(cmd.Context())
			},
		},
		&cobra.Command{
			Use:   "stop",
			Short: "Stop the machine and every container in it",
			Args:  noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				m, err := a.machine()
				if err != nil {
					return err
				}
				return m.Stop(cmd.Context())
			},
		},
		&cobra.Command{
			Use:   "status",
			Short: "Print whether the machine is running or stopped",
			Args:  noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				m, err := a.machine()
				if err != nil {
					return err
				}
				fmt.Fprintln(a.out, m.Status(cmd.Context()))
				return nil
			},
		},
	)
	return cmd
}

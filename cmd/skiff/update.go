package main

import (
	"github.com/spf13/cobra"

	"github.com/skiffrun/skiff/host/containers"
)

func newUpdateCommand(a *app) *cobra.Command {
	var o containers.UpdateOptions
	cmd := &cobra.Command{
		Use:               "update [OPTIONS] CONTAINER [CONTAINER...]",
		Short:             "Update configuration of one or more containers",
		Args:              requiresMinArgs(1),
		ValidArgsFunction: completeContainers(a, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(true)
			if err != nil {
				return err
			}
			return containers.Update(cmd.Context(), c, a.containerStreams(), o, args)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.CPUs, "cpus", "", "Number of CPUs")
	fs.StringVarP(&o.CPUShares, "cpu-shares", "c", "", "CPU shares (relative weight)")
	fs.StringVar(&o.CpusetCpus, "cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)")
	fs.StringVarP(&o.Memory, "memory", "m", "", "Memory limit")
	fs.StringVar(&o.MemorySwap, "memory-swap", "", "Swap limit equal to memory plus swap: -1 to enable unlimited swap")
	fs.StringVar(&o.MemoryReservation, "memory-reservation", "", "Memory soft limit")
	fs.StringVar(&o.PidsLimit, "pids-limit", "", "Tune container pids limit (set -1 for unlimited)")
	fs.StringVar(&o.Restart, "restart", "", "Restart policy to apply when a container exits")
	return cmd
}

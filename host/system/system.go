// Package system carries out skiff version and skiff info: the client's
// own facts, always, then the agent's, in docker's layout. Starting the
// machine for them is the caller's decision.
package system

import (
	"context"
	"fmt"
	"io"
	"runtime"

	units "github.com/docker/go-units"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
)

// Client describes the CLI itself.
type Client struct {
	Version   string
	GitCommit string
	Machine   string
	Driver    string
}

// Version prints the client's version and then the agent's. The client
// section is printed even when the agent cannot be reached, which is then
// the error.
func Version(ctx context.Context, c *agentclient.Client, out io.Writer, cl Client) error {
	fmt.Fprintln(out, "Client:")
	field(out, "Version", cl.Version)
	field(out, "Git commit", orUnknown(cl.GitCommit))
	field(out, "Go version", runtime.Version())
	field(out, "OS/Arch", runtime.GOOS+"/"+runtime.GOARCH)
	field(out, "Machine", fmt.Sprintf("%s (%s)", cl.Machine, cl.Driver))
	v, err := c.System.Version(ctx, &apiv1.Empty{})
	if err != nil {
		return err
	}
	fmt.Fprintln(out)
	fmt.Fprintln(out, "Server: skiff-agent")
	field(out, "Version", v.GetVersion())
	field(out, "API version", v.GetApiVersion())
	field(out, "Git commit", orUnknown(v.GetGitCommit()))
	field(out, "Go version", v.GetGoVersion())
	field(out, "OS/Arch", v.GetOs()+"/"+v.GetArch())
	field(out, "Kernel version", v.GetKernelVersion())
	return nil
}

// field prints one "Name: value" line of version, aligned as docker's.
func field(w io.Writer, name, value string) {
	fmt.Fprintf(w, " %-18s %s\n", name+":", value)
}

// Info prints what docker info prints, as far as the agent knows it.
func Info(ctx context.Context, c *agentclient.Client, out io.Writer, cl Client) error {
	fmt.Fprintln(out, "Client:")
	fmt.Fprintf(out, " Version:    %s\n", cl.Version)
	fmt.Fprintf(out, " Machine:    %s\n", cl.Machine)
	fmt.Fprintf(out, " Driver:     %s\n", cl.Driver)
	fmt.Fprintln(out)
	in, err := c.System.Info(ctx, &apiv1.Empty{})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "Server:")
	fmt.Fprintf(out, " Containers: %d\n", in.GetContainers())
	fmt.Fprintf(out, "  Running: %d\n", in.GetContainersRunning())
	fmt.Fprintf(out, "  Paused: %d\n", in.GetContainersPaused())
	fmt.Fprintf(out, "  Stopped: %d\n", in.GetContainersStopped())
	fmt.Fprintf(out, " Images: %d\n", in.GetImages())
	fmt.Fprintf(out, " Server Version: %s\n", in.GetServerVersion())
	fmt.Fprintf(out, " Storage Driver: %s\n", in.GetStorageDriver())
	fmt.Fprintf(out, " Cgroup Driver: %s\n", in.GetCgroupDriver())
	fmt.Fprintf(out, " Cgroup Version: %s\n", in.GetCgroupVersion())
	if opts := in.GetSecurityOptions(); len(opts) > 0 {
		fmt.Fprintln(out, " Security Options:")
		for _, o := range opts {
			fmt.Fprintf(out, "  %s\n", o)
		}
	}
	fmt.Fprintf(out, " Kernel Version: %s\n", in.GetKernelVersion())
	fmt.Fprintf(out, " Operating System: %s\n", in.GetOperatingSystem())
	fmt.Fprintf(out, " OSType: %s\n", in.GetOsType())
	fmt.Fprintf(out, " Architecture: %s\n", in.GetArchitecture())
	fmt.Fprintf(out, " CPUs: %d\n", in.GetNcpu())
	fmt.Fprintf(out, " Total Memory: %s\n", units.BytesSize(float64(in.GetMemTotal())))
	fmt.Fprintf(out, " Name: %s\n", in.GetName())
	fmt.Fprintf(out, " Skiff Root Dir: %s\n", in.GetRootDir())
	fmt.Fprintf(out, " Machine Driver: %s\n", in.GetMachineDriver())
	if m := in.GetAgentMemory(); m > 0 {
		fmt.Fprintf(out, " Agent Memory: %s\n", units.BytesSize(float64(m)))
	}
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

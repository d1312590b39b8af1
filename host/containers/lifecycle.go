package containers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/host/format"
	"github.com/skiffrun/skiff/host/opts"
)

// eachContainer runs fn for each container, printing the name of each that
// succeeded as docker does, and returns every failure.
func eachContainer(ids []string, s Streams, fn func(id string) error) error {
	var errs []error
	for _, id := range ids {
		if err := fn(id); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(s.Out, id)
	}
	return errors.Join(errs...)
}

// StopOptions are stop's and restart's flags.
type StopOptions struct {
	Containers []string
	// Timeout in seconds counts only when TimeoutSet.
	Timeout    int
	TimeoutSet bool
	Signal     string
}

func (o StopOptions) request(id string) (*apiv1.StopRequest, error) {
	sig, err := opts.Signal("signal", o.Signal)
	if err != nil {
		return nil, err
	}
	return &apiv1.StopRequest{Id: id, Timeout: int32(o.Timeout), TimeoutSet: o.TimeoutSet, Signal: sig}, nil
}

// Stop stops containers: their stop signal, then SIGKILL after the timeout.
func Stop(ctx context.Context, c *agentclient.Client, s Streams, o StopOptions) error {
	if _, err := o.request(""); err != nil {
		return err
	}
	return eachContainer(o.Containers, s, func(id string) error {
		req, _ := o.request(id)
		_, err := c.Containers.Stop(ctx, req)
		return err
	})
}

// Restart stops and starts containers.
func Restart(ctx context.Context, c *agentclient.Client, s Streams, o StopOptions) error {
	if _, err := o.request(""); err != nil {
		return err
	}
	return eachContainer(o.Containers, s, func(id string) error {
		req, _ := o.request(id)
		_, err := c.Containers.Restart(ctx, req)
		return err
	})
}

// KillOptions are kill's flags.
type KillOptions struct {
	Containers []string
	Signal     string
}

// Kill sends a signal (SIGKILL unless told) to containers.
func Kill(ctx context.Context, c *agentclient.Client, s Streams, o KillOptions) error {
	sig, err := opts.Signal("signal", o.Signal)
	if err != nil {
		return err
	}
	if sig == "" {
		sig = "SIGKILL"
	}
	return eachContainer(o.Containers, s, func(id string) error {
		_, err := c.Containers.Kill(ctx, &apiv1.KillRequest{Id: id, Signal: sig})
		return err
	})
}

// RemoveOptions are rm's flags.
type RemoveOptions struct {
	Containers []string
	Force      bool
	Volumes    bool
}

// Remove removes containers.
func Remove(ctx context.Context, c *agentclient.Client, s Streams, o RemoveOptions) error {
	return eachContainer(o.Containers, s, func(id string) error {
		_, err := c.Containers.Remove(ctx, &apiv1.RemoveRequest{Id: id, Force: o.Force, Volumes: o.Volumes})
		return err
	})
}

// Wait blocks until each container stops and prints its exit code.
func Wait(ctx context.Context, c *agentclient.Client, s Streams, ids []string) error {
	var errs []error
	for _, id := range ids {
		resp, err := c.Containers.Wait(ctx, &apiv1.WaitRequest{Id: id})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(s.Out, resp.GetExitCode())
	}
	return errors.Join(errs...)
}

// Rename renames a container.
func Rename(ctx context.Context, c *agentclient.Client, id, newName string) error {
	name, err := opts.Name("name", newName)
	if err != nil {
		return err
	}
	if name == "" {
		return opts.Usagef("the new name is empty; give one, as in: skiff rename %s web", id)
	}
	_, err = c.Containers.Rename(ctx, &apiv1.RenameRequest{Id: id, NewName: name})
	return err
}

// Top prints a container's processes.
func Top(ctx context.Context, c *agentclient.Client, s Streams, id string, psArgs []string) error {
	resp, err := c.Containers.Top(ctx, &apiv1.TopRequest{Id: id, PsArgs: psArgs})
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(s.Out, 20, 1, 3, ' ', 0)
	fmt.Fprintln(w, strings.Join(resp.GetTitles(), "\t"))
	for _, p := range resp.GetProcesses() {
		fmt.Fprintln(w, strings.Join(p.GetFields(), "\t"))
	}
	return w.Flush()
}

// PruneOptions are container prune's flags.
type PruneOptions struct {
	Force   bool
	Filters []string
}

// Prune removes stopped containers, after asking unless forced.
func Prune(ctx context.Context, c *agentclient.Client, s Streams, o PruneOptions) error {
	filters, err := opts.Filters("filter", o.Filters)
	if err != nil {
		return err
	}
	if !o.Force && !confirm(s, "WARNING! This will remove all stopped containers.") {
		return nil
	}
	resp, err := c.Containers.Prune(ctx, &apiv1.PruneRequest{Filters: filters})
	if err != nil {
		return err
	}
	if len(resp.GetDeleted()) > 0 {
		fmt.Fprintln(s.Out, "Deleted Containers:")
		for _, id := range resp.GetDeleted() {
			fmt.Fprintln(s.Out, id)
		}
		fmt.Fprintln(s.Out)
	}
	fmt.Fprintf(s.Out, "Total reclaimed space: %s\n", format.Size(int64(resp.GetSpaceReclaimed())))
	return nil
}

// confirm asks docker's question and reports whether the answer was yes.
func confirm(s Streams, warning string) bool {
	fmt.Fprintf(s.Out, "%s\nAre you sure you want to continue? [y/N] ", warning)
	if s.In == nil {
		return false
	}
	line, _ := bufio.NewReader(s.In).ReadString('\n')
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes"
}

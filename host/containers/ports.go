package containers

import (
	"context"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/host/opts"
)

// ports adds -p, -P and --expose to the request.
func (o *CreateOptions) ports(cfg *apiv1.ContainerConfig, h *apiv1.HostConfig) error {
	var err error
	if h.PortBindings, err = opts.Publish("publish", o.Publish); err != nil {
		return err
	}
	h.PublishAll = o.PublishAll
	if cfg.ExposedPorts, err = opts.Expose("expose", o.Expose); err != nil {
		return err
	}
	// A published port is exposed too, as with docker.
	for _, b := range h.PortBindings {
		p := strconv.Itoa(int(b.ContainerPort)) + "/" + b.Protocol
		if !contains(cfg.ExposedPorts, p) {
			cfg.ExposedPorts = append(cfg.ExposedPorts, p)
		}
	}
	if len(h.PortBindings) > 0 && (h.NetworkMode == "host" || h.NetworkMode == "none") {
		return opts.Usagef("conflicting options: -p and --network %s; a container on the %s network has no ports of its own to publish, so drop one", h.NetworkMode, h.NetworkMode)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// portKey is docker's "80/tcp".
func portKey(b *apiv1.PortBinding) string {
	return strconv.Itoa(int(b.ContainerPort)) + "/" + b.Protocol
}

// hostAddr is "127.0.0.1:8080" or "[::1]:8080".
func hostAddr(b *apiv1.PortBinding) string {
	return net.JoinHostPort(b.HostIp, strconv.Itoa(int(b.HostPort)))
}

// sortedPorts orders bindings by container port, protocol, then host
// address, as docker prints them.
func sortedPorts(bs []*apiv1.PortBinding) []*apiv1.PortBinding {
	out := append([]*apiv1.PortBinding(nil), bs...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.ContainerPort != b.ContainerPort {
			return a.ContainerPort < b.ContainerPort
		}
		if a.Protocol != b.Protocol {
			return a.Protocol < b.Protocol
		}
		return hostAddr(a) < hostAddr(b)
	})
	return out
}

// PortsColumn is docker ps's PORTS: "127.0.0.1:8080->80/tcp, 443/tcp"
// (exposed ports that are not published appear bare).
func PortsColumn(c *apiv1.Container) string {
	var parts []string
	published := map[string]bool{}
	for _, b := range sortedPorts(c.GetNetworkSettings().GetPorts()) {
		parts = append(parts, hostAddr(b)+"->"+portKey(b))
		published[portKey(b)] = true
	}
	if c.GetState().GetRunning() {
		exposed := append([]string(nil), c.GetConfig().GetExposedPorts()...)
		sort.Strings(exposed)
		for _, e := range exposed {
			if !published[e] {
				parts = append(parts, e)
			}
		}
	}
	return strings.Join(parts, ", ")
}

// PortOptions are docker port's arguments.
type PortOptions struct {
	Container string
	// Port is "80" or "80/udp"; empty lists every mapping.
	Port string
}

// Port prints a container's published ports as docker port does:
// "80/tcp -> 127.0.0.1:8080" per mapping, or only the host addresses
// when one port is asked for.
func Port(ctx context.Context, c *agentclient.Client, out io.Writer, o PortOptions) error {
	ctr, err := c.Containers.Inspect(ctx, &apiv1.ContainerRef{Id: o.Container})
	if err != nil {
		return err
	}
	ports := sortedPorts(ctr.GetNetworkSettings().GetPorts())
	if o.Port == "" {
		for _, b := range ports {
			fmt.Fprintf(out, "%s -> %s\n", portKey(b), hostAddr(b))
		}
		return nil
	}
	want := o.Port
	if !strings.Contains(want, "/") {
		want += "/tcp"
	}
	found := false
	for _, b := range ports {
		if portKey(b) == want {
			fmt.Fprintln(out, hostAddr(b))
			found = true
		}
	}
	if !found {
		return fmt.Errorf("No public port '%s' published for %s: %w", want, o.Container, errdefs.ErrNotFound)
	}
	return nil
}

// networksColumn is ps's NETWORKS: the networks the container is on, or
// its mode (host, none).
func networksColumn(c *apiv1.Container) string {
	var names []string
	for name := range c.GetNetworkSettings().GetNetworks() {
		names = append(names, name)
	}
	if len(names) == 0 {
		mode := c.GetHostConfig().GetNetworkMode()
		if mode == "" || mode == "default" {
			mode = "bridge"
		}
		return mode
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

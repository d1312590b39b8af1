// Package networks carries out skiff network create, ls, inspect, rm,
// connect, disconnect and prune: it checks the options, calls the
// agent's Networks service and prints what docker prints. Flags are
// cmd/skiff's.
package networks

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/host/format"
	"github.com/skiffrun/skiff/host/opts"
)

// CreateOptions are network create's flags and argument.
type CreateOptions struct {
	Name     string
	Driver   string
	Subnet   string
	Gateway  string
	Labels   []string
	Internal bool
}

// Create makes a network and prints its id.
func Create(ctx context.Context, c *agentclient.Client, out io.Writer, o CreateOptions) error {
	labels, err := opts.KeyValues("label", o.Labels, true)
	if err != nil {
		return err
	}
	if o.Subnet != "" {
		if _, err := netip.ParsePrefix(o.Subnet); err != nil {
			return opts.Invalid("subnet", o.Subnet, "use an IPv4 subnet in CIDR form, like 10.10.0.0/24")
		}
	}
	if o.Gateway != "" {
		if _, err := netip.ParseAddr(o.Gateway); err != nil {
			return opts.Invalid("gateway", o.Gateway, "use an IPv4 address in the subnet, like 10.10.0.1")
		}
		if o.Subnet == "" {
			return opts.Usagef("--gateway needs --subnet: give the subnet the gateway belongs to")
		}
	}
	n, err := c.Networks.Create(ctx, &apiv1.CreateNetworkRequest{Name: o.Name, Driver: o.Driver, Subnet: o.Subnet, Gateway: o.Gateway, Labels: labels, Internal: o.Internal})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, n.GetId())
	return nil
}

// Row is one network as ls's templates see it (docker's field names).
type Row struct {
	ID        string
	Name      string
	Driver    string
	Scope     string
	IPv6      string
	Internal  string
	Labels    string
	CreatedAt string
	labels    map[string]string
}

// Label returns the value of label key.
func (r Row) Label(key string) string { return r.labels[key] }

const defaultListFormat = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"

var listHeader = map[string]string{
	"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
	"IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED",
}

// ListOptions are network ls's flags.
type ListOptions struct {
	Quiet   bool
	NoTrunc bool
	Format  string
	Filters []string
}

// List prints networks as docker network ls does.
func List(ctx context.Context, c *agentclient.Client, out io.Writer, o ListOptions) error {
	filters, err := opts.Filters("filter", o.Filters)
	if err != nil {
		return err
	}
	tmpl := o.Format
	if o.Quiet {
		tmpl = "{{.ID}}"
	}
	f, err := format.Parse(tmpl, defaultListFormat)
	if err != nil {
		return opts.Invalid("format", o.Format, "%v", err)
	}
	resp, err := c.Networks.List(ctx, &apiv1.ListNetworksRequest{Filters: filters})
	if err != nil {
		return err
	}
	var rows []any
	for _, n := range resp.GetNetworks() {
		r := row(n)
		if !o.NoTrunc && len(r.ID) > 12 {
			r.ID = r.ID[:12]
		}
		rows = append(rows, r)
	}
	return f.Write(out, listHeader, rows)
}

func row(n *apiv1.Network) Row {
	keys := make([]string, 0, len(n.GetLabels()))
	for k := range n.GetLabels() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var labels []string
	for _, k := range keys {
		labels = append(labels, k+"="+n.GetLabels()[k])
	}
	return Row{
		ID: n.GetId(), Name: n.GetName(), Driver: n.GetDriver(), Scope: n.GetScope(),
		IPv6: "false", Internal: fmt.Sprint(n.GetInternal()), Labels: strings.Join(labels, ","),
		CreatedAt: format.Time(n.GetCreated()).Format("2006-01-02 15:04:05.999999999 -0700 MST"), labels: n.GetLabels(),
	}
}

// IPAMConfig is one of docker's IPAM.Config entries.
type IPAMConfig struct {
	Subnet  string
	Gateway string
}

// IPAM is docker's IPAM section.
type IPAM struct {
	Driver string
	Config []IPAMConfig
}

// Endpoint is one of docker's Containers entries.
type Endpoint struct {
	Name        string
	MacAddress  string
	IPv4Address string
	IPv6Address string
}

// Inspect is docker's JSON shape of a network.
type Inspect struct {
	Name       string
	ID         string `json:"Id"`
	Created    string
	Scope      string
	Driver     string
	EnableIPv6 bool
	IPAM       IPAM
	Internal   bool
	Attachable bool
	Containers map[string]Endpoint
	Options    map[string]string
	Labels     map[string]string
}

// NewInspect converts a network to docker's shape.
func NewInspect(n *apiv1.Network) Inspect {
	out := Inspect{
		Name: n.GetName(), ID: n.GetId(), Created: format.RFC3339Nano(format.Time(n.GetCreated())),
		Scope: n.GetScope(), Driver: n.GetDriver(), IPAM: IPAM{Driver: "default", Config: []IPAMConfig{}},
		Internal: n.GetInternal(), Containers: map[string]Endpoint{}, Options: map[string]string{}, Labels: n.GetLabels(),
	}
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	if n.GetSubnet() != "" {
		out.IPAM.Config = append(out.IPAM.Config, IPAMConfig{Subnet: n.GetSubnet(), Gateway: n.GetGateway()})
	}
	// Only the default bridge names its interface in Options, as with
	// docker: a user network shows the options it was created with, none
	// here, and docker-compose 1.x recreates a network whose options
	// differ from its file's.
	if n.GetBridge() != "" && n.GetName() == "bridge" {
		out.Options["com.docker.network.bridge.name"] = n.GetBridge()
	}
	for id, e := range n.GetContainers() {
		out.Containers[id] = Endpoint{Name: e.GetName(), MacAddress: e.GetMacAddress(), IPv4Address: fmt.Sprintf("%s/%d", e.GetIpAddress(), e.GetIpPrefixLen())}
	}
	return out
}

// InspectOptions are network inspect's flags and arguments.
type InspectOptions struct {
	Names  []string
	Format string
}

// InspectNetworks prints the networks named; those found are printed
// even when others are not.
func InspectNetworks(ctx context.Context, c *agentclient.Client, out io.Writer, o InspectOptions) error {
	if o.Format != "" && o.Format != format.JSONKey {
		if _, err := format.New(o.Format); err != nil {
			return opts.Invalid("format", o.Format, "%v", err)
		}
	}
	var items []any
	var errs []error
	for _, name := range o.Names {
		n, err := c.Networks.Inspect(ctx, &apiv1.NetworkRef{Id: name})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		items = append(items, NewInspect(n))
	}
	if err := format.Inspect(out, o.Format, items); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Remove removes networks, printing each name removed.
func Remove(ctx context.Context, c *agentclient.Client, out io.Writer, names []string) error {
	var errs []error
	for _, n := range names {
		if _, err := c.Networks.Remove(ctx, &apiv1.NetworkRef{Id: n}); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(out, n)
	}
	return errors.Join(errs...)
}

// Connect joins a container to a network.
func Connect(ctx context.Context, c *agentclient.Client, network, container string, aliases []string) error {
	_, err := c.Networks.Connect(ctx, &apiv1.ConnectNetworkRequest{Network: network, Container: container, Aliases: aliases})
	return err
}

// Disconnect takes a container off a network.
func Disconnect(ctx context.Context, c *agentclient.Client, network, container string, force bool) error {
	_, err := c.Networks.Disconnect(ctx, &apiv1.DisconnectNetworkRequest{Network: network, Container: container, Force: force})
	return err
}

// Prune removes unused networks and prints their names as docker does;
// without force it asks first, reading the answer from in.
func Prune(ctx context.Context, c *agentclient.Client, in io.Reader, out io.Writer, force bool) error {
	if !force {
		fmt.Fprint(out, "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ")
		answer, _ := bufio.NewReader(in).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return nil
		}
	}
	resp, err := c.Networks.Prune(ctx, &apiv1.PruneRequest{})
	if len(resp.GetDeleted()) > 0 {
		fmt.Fprintln(out, "Deleted Networks:")
		for _, n := range resp.GetDeleted() {
			fmt.Fprintln(out, n)
		}
	}
	return err
}

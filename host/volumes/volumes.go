// Package volumes carries out skiff volume create, ls, inspect, rm and
// prune: it checks the options, calls the agent's Volumes service and
// prints what docker prints. Flags are cmd/skiff's.
package volumes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/host/format"
	"github.com/skiffrun/skiff/host/opts"
)

// Streams are the command's standard streams.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// CreateOptions are volume create's flags and argument.
type CreateOptions struct {
	Name    string
	Driver  string
	Labels  []string
	Options []string
}

// Create makes a volume and prints its name.
func Create(ctx context.Context, c *agentclient.Client, s Streams, o CreateOptions) error {
	if o.Name != "" {
		if err := opts.VolumeName("name", o.Name); err != nil {
			return err
		}
	}
	labels, err := opts.KeyValues("label", o.Labels, true)
	if err != nil {
		return err
	}
	options, err := opts.KeyValues("opt", o.Options, false)
	if err != nil {
		return err
	}
	v, err := c.Volumes.Create(ctx, &apiv1.CreateVolumeRequest{Name: o.Name, Driver: o.Driver, Labels: labels, Options: options})
	if err != nil {
		return err
	}
	fmt.Fprintln(s.Out, v.GetName())
	return nil
}

// Row is one volume as ls's templates see it (docker's field names).
type Row struct {
	Name       string
	Driver     string
	Scope      string
	Mountpoint string
	// Labels is "k=v,k2=v2", as docker's.
	Labels    string
	Links     string
	Size      string
	CreatedAt string
	labels    map[string]string
}

// Label returns the value of label key.
func (r Row) Label(key string) string { return r.labels[key] }

const defaultListFormat = "table {{.Driver}}\t{{.Name}}"

var listHeader = map[string]string{
	"Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
	"Labels": "LABELS", "Links": "LINKS", "Size": "SIZE", "CreatedAt": "CREATED",
}

// ListOptions are volume ls's flags.
type ListOptions struct {
	Quiet   bool
	Format  string
	Filters []string
}

// List prints volumes as docker volume ls does.
func List(ctx context.Context, c *agentclient.Client, s Streams, o ListOptions) error {
	filters, err := opts.Filters("filter", o.Filters)
	if err != nil {
		return err
	}
	tmpl := o.Format
	if o.Quiet {
		tmpl = "{{.Name}}"
	}
	f, err := format.Parse(tmpl, defaultListFormat)
	if err != nil {
		return opts.Invalid("format", o.Format, "%v", err)
	}
	resp, err := c.Volumes.List(ctx, &apiv1.ListVolumesRequest{Filters: filters})
	if err != nil {
		return err
	}
	var rows []any
	for _, v := range resp.GetVolumes() {
		rows = append(rows, row(v))
	}
	return f.Write(s.Out, listHeader, rows)
}

func row(v *apiv1.Volume) Row {
	keys := make([]string, 0, len(v.GetLabels()))
	for k := range v.GetLabels() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var labels []string
	for _, k := range keys {
		labels = append(labels, k+"="+v.GetLabels()[k])
	}
	return Row{
		Name: v.GetName(), Driver: v.GetDriver(), Scope: v.GetScope(), Mountpoint: v.GetMountpoint(),
		Labels: strings.Join(labels, ","), Links: fmt.Sprint(v.GetRefCount()), Size: "N/A",
		CreatedAt: format.RFC3339Nano(format.Time(v.GetCreatedAt())), labels: v.GetLabels(),
	}
}

// Inspect is docker's JSON shape of a volume.
type Inspect struct {
	CreatedAt  string
	Driver     string
	Labels     map[string]string
	Mountpoint string
	Name       string
	Options    map[string]string
	Scope      string
}

// NewInspect converts a volume to docker's shape.
func NewInspect(v *apiv1.Volume) Inspect {
	labels, options := v.GetLabels(), v.GetOptions()
	if labels == nil {
		labels = map[string]string{}
	}
	if options == nil {
		options = map[string]string{}
	}
	return Inspect{
		CreatedAt:  format.RFC3339Nano(format.Time(v.GetCreatedAt())),
		Driver:     v.GetDriver(),
		Labels:     labels,
		Mountpoint: v.GetMountpoint(),
		Name:       v.GetName(),
		Options:    options,
		Scope:      v.GetScope(),
	}
}

// InspectOptions are volume inspect's flags and arguments.
type InspectOptions struct {
	Names  []string
	Format string
}

// InspectVolumes prints the volumes named; those found are printed even
// when others are not.
func InspectVolumes(ctx context.Context, c *agentclient.Client, s Streams, o InspectOptions) error {
	if o.Format != "" && o.Format != format.JSONKey {
		if _, err := format.New(o.Format); err != nil {
			return opts.Invalid("format", o.Format, "%v", err)
		}
	}
	var items []any
	var errs []error
	for _, n := range o.Names {
		v, err := c.Volumes.Inspect(ctx, &apiv1.VolumeRef{Name: n})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		items = append(items, NewInspect(v))
	}
	if err := format.Inspect(s.Out, o.Format, items); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// RemoveOptions are volume rm's flags and arguments.
type RemoveOptions struct {
	Names []string
	Force bool
}

// Remove removes volumes, printing each name removed; a volume in use
// stays, and is one of the errors.
func Remove(ctx context.Context, c *agentclient.Client, s Streams, o RemoveOptions) error {
	var errs []error
	for _, n := range o.Names {
		if _, err := c.Volumes.Remove(ctx, &apiv1.RemoveVolumeRequest{Name: n, Force: o.Force}); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(s.Out, n)
	}
	return errors.Join(errs...)
}

// PruneOptions are volume prune's flags.
type PruneOptions struct {
	All     bool
	Force   bool
	Filters []string
}

// Prune removes unused volumes (anonymous ones unless All), after asking
// unless forced.
func Prune(ctx context.Context, c *agentclient.Client, s Streams, o PruneOptions) error {
	filters, err := opts.Filters("filter", o.Filters)
	if err != nil {
		return err
	}
	if o.All {
		if filters == nil {
			filters = map[string]*apiv1.FilterValues{}
		}
		filters["all"] = &apiv1.FilterValues{Values: []string{"true"}}
	}
	warning := "WARNING! This will remove anonymous local volumes not used by at least one container."
	if o.All {
		warning = "WARNING! This will remove all local volumes not used by at least one container."
	}
	if !o.Force && !confirm(s, warning) {
		return nil
	}
	resp, err := c.Volumes.Prune(ctx, &apiv1.PruneVolumesRequest{Filters: filters})
	if err != nil {
		return err
	}
	if len(resp.GetDeleted()) > 0 {
		fmt.Fprintln(s.Out, "Deleted Volumes:")
		for _, n := range resp.GetDeleted() {
			fmt.Fprintln(s.Out, n)
		}
		fmt.Fprintln(s.Out)
	}
	fmt.Fprintf(s.Out, "Total reclaimed space: %s\n", format.Size(int64(resp.GetSpaceReclaimed())))
	return nil
}

func confirm(s Streams, warning string) bool {
	fmt.Fprintf(s.Out, "%s\nAre you sure you want to continue? [y/N] ", warning)
	if s.In == nil {
		return false
	}
	var answer string
	_, _ = fmt.Fscanln(s.In, &answer)
	answer = strings.ToLower(strings.TrimSpace(answer))
	return answer == "y" || answer == "yes"
}

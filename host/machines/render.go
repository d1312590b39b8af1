package machines

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	units "github.com/docker/go-units"

	"github.com/skiffrun/skiff/host/format"
	"github.com/skiffrun/skiff/host/machine"
)

// listTable is `skiff machine ls`'s default format.
const listTable = "table {{.Name}}\t{{.Driver}}\t{{.State}}\t{{.CPUsText}}\t{{.Memory}}\t{{.Disk}}"

var listHeader = map[string]string{
	"Name": "NAME", "Driver": "DRIVER", "State": "STATE", "CPUsText": "CPUS", "Memory": "MEMORY", "Disk": "DISK",
}

// row is a machine.Info with the columns spelled for people.
type row struct{ machine.Info }

// CPUsText is the CPU count, or "-" when the driver chooses it.
func (r row) CPUsText() string {
	if r.CPUs == 0 {
		return "-"
	}
	return strconv.Itoa(r.CPUs)
}

// Memory is the memory size ("2GiB"), or "-" when the driver chooses it.
func (r row) Memory() string {
	if r.MemoryMiB == 0 {
		return "-"
	}
	return units.BytesSize(float64(r.MemoryMiB) * units.MiB)
}

// MemoryUse is the memory assigned, then, for a running machine, what
// its guest uses and what its process holds on the host (where the
// balloon's returned pages show).
func (r row) MemoryUse() string {
	s := r.Memory()
	var use []string
	if r.MemoryGuestUsed > 0 {
		use = append(use, "guest uses "+units.BytesSize(float64(r.MemoryGuestUsed)))
	}
	if r.MemoryHostRSS > 0 {
		use = append(use, "host process holds "+units.BytesSize(float64(r.MemoryHostRSS)))
	}
	if len(use) > 0 {
		s += " (" + strings.Join(use, ", ") + ")"
	}
	return s
}

// Disk is the data disk's use on the host against its size.
func (r row) Disk() string {
	if r.DiskSize == 0 {
		return "-"
	}
	return format.Size(r.DiskAllocated) + " / " + units.BytesSize(float64(r.DiskSize))
}

// WriteList prints machines as `skiff machine ls` does: a table, --format
// (json or a template), or with quiet their names alone.
func WriteList(w io.Writer, infos []machine.Info, value string, quiet bool) error {
	if quiet {
		value = "{{.Name}}"
	}
	f, err := format.Parse(value, listTable)
	if err != nil {
		return err
	}
	rows := make([]any, len(infos))
	for i, in := range infos {
		rows[i] = row{in}
	}
	return f.Write(w, listHeader, rows)
}

// WriteStatus prints one machine as `skiff machine status` does: a field
// per line, or --format (json or a template).
func WriteStatus(w io.Writer, in machine.Info, value string) error {
	if value != "" {
		f, err := format.Parse(value, "")
		if err != nil {
			return err
		}
		return f.Write(w, nil, []any{row{in}})
	}
	r := row{in}
	or := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	tw := tabwriter.NewWriter(w, 0, 8, 1, ' ', 0)
	fmt.Fprintf(tw, "Name:\t%s\n", in.Name)
	fmt.Fprintf(tw, "State:\t%s\n", in.State)
	fmt.Fprintf(tw, "Driver:\t%s\n", in.Driver)
	fmt.Fprintf(tw, "Acceleration:\t%s\n", or(in.Accel))
	fmt.Fprintf(tw, "Arch:\t%s\n", in.Arch)
	fmt.Fprintf(tw, "CPUs:\t%s\n", r.CPUsText())
	fmt.Fprintf(tw, "Memory:\t%s\n", r.MemoryUse())
	fmt.Fprintf(tw, "Disk:\t%s\n", r.Disk())
	fmt.Fprintf(tw, "Uptime:\t%s\n", or(in.Uptime))
	fmt.Fprintf(tw, "Agent:\t%s\n", or(in.AgentVersion))
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range in.GoneShares {
		if _, err := fmt.Fprintf(w, "Warning: shared folder %s is gone from the host: containers that use it get I/O errors; create it again, or stop sharing it with skiff machine set --unshare %s and restart the machine\n", p, p); err != nil {
			return err
		}
	}
	if in.Error != "" {
		_, err := fmt.Fprintf(w, "Error: %s\n", in.Error)
		return err
	}
	return nil
}

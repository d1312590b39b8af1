package machines

import (
	"fmt"

	units "github.com/docker/go-units"

	"github.com/skiffrun/skiff/host/machine"
	"github.com/skiffrun/skiff/host/opts"
	"github.com/skiffrun/skiff/platform"
)

// SizeOptions are the sizing flags of `skiff machine start` and `skiff
// machine set`; nil fields were not given and keep the saved value.
type SizeOptions struct {
	CPUs     *int
	Memory   *string
	DiskSize *string
	Share    []string
	Unshare  []string
	// Network is the machine's uplink, user or nat.
	Network *string
}

// errNoChanges is Set's error when no flag changes anything.
var errNoChanges = opts.Usagef(`"skiff machine set" needs at least one of --cpus, --memory, --disk-size, --share, --unshare, --network`)

// Changes checks the given flags and turns them into changes.
func (o SizeOptions) Changes() (machine.Changes, error) {
	var c machine.Changes
	if o.CPUs != nil {
		if *o.CPUs < 1 || *o.CPUs > platform.MaxCPUs {
			return c, opts.Invalid("cpus", fmt.Sprint(*o.CPUs), "use 1 to %d", platform.MaxCPUs)
		}
		c.CPUs = *o.CPUs
	}
	if o.Memory != nil {
		b, err := units.RAMInBytes(*o.Memory)
		if err != nil || b < platform.MinMemoryMiB<<20 {
			return c, opts.Invalid("memory", *o.Memory, "use a size such as 2g or 4096m, at least %dm", platform.MinMemoryMiB)
		}
		c.MemoryMiB = int(b >> 20)
	}
	if o.DiskSize != nil {
		b, err := units.RAMInBytes(*o.DiskSize)
		if err != nil || b < platform.MinDiskBytes {
			return c, opts.Invalid("disk-size", *o.DiskSize, "use a size such as 64g, at least %dm", platform.MinDiskBytes>>20)
		}
		c.DiskBytes = b &^ (1<<20 - 1)
	}
	for _, s := range o.Share {
		m, err := machine.ParseShare(s)
		if err != nil {
			return c, err
		}
		c.Share = append(c.Share, m)
	}
	c.Unshare = o.Unshare
	if o.Network != nil {
		n, err := machine.ParseNetwork(*o.Network)
		if err != nil {
			return c, opts.Invalid("network", *o.Network, "use user (connections made by the host, the default) or nat (the hypervisor's NAT)")
		}
		c.Network = n
	}
	return c, nil
}

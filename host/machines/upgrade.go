package machines

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"

	"github.com/skiffrun/skiff/guest/api/errclass"
	"github.com/skiffrun/skiff/host/machine"
)

// UpgradeOptions are `skiff machine upgrade`'s flags.
type UpgradeOptions struct {
	// Image is the guest image reference to move to; "" is what the
	// machine's next start would boot (the image pinned in skiff, or
	// SKIFF_VMIMAGE_REF, unless a local one wins).
	Image string
	// Force stops a running machine without asking.
	Force bool
}

// Upgrade moves the machine o selects, which must exist, to the guest
// image uo names, pulling it first, and keeps its data disk (images,
// containers and volumes): a running machine is stopped, after asking on
// s unless forced, and started again on it; a stopped one boots it at its
// next start.
func Upgrade(ctx context.Context, o machine.Options, s Streams, uo UpgradeOptions) error {
	m, err := existing(o)
	if err != nil {
		return err
	}
	if !m.IsVM() {
		return errclass.Errorf(errdefs.ErrFailedPrecondition, "machine %q runs on the %s driver, which boots no guest image; nothing to upgrade", m.Name(), m.Driver())
	}
	cur, had := m.BootImage()
	next, err := m.PrepareImage(ctx, machine.ImageOptions{Ref: uo.Image, Out: s.Err, Terminal: s.Terminal})
	if err != nil {
		return err
	}
	if had && cur.Same(next) {
		fmt.Fprintf(s.Out, "Machine %q already boots guest image %s\n", m.Name(), next)
		return nil
	}
	st := m.Status(ctx)
	if st != machine.Running && st != machine.Starting {
		if err := m.RecordImage(next); err != nil {
			return err
		}
		fmt.Fprintf(s.Out, "Machine %q moved to guest image %s; it boots it at its next start\n", m.Name(), next)
		return nil
	}
	if !uo.Force && !confirm(s, fmt.Sprintf("Machine %q is running; stop it, with every container in it, and start it again on guest image %s?", m.Name(), next)) {
		return fmt.Errorf("machine %q not upgraded", m.Name())
	}
	if err := m.Stop(ctx); err != nil {
		return err
	}
	if err := start(ctx, m, s); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "Machine %q now boots guest image %s\n", m.Name(), next)
	return nil
}

// Package machines is what the `skiff machine` commands do: start a
// machine showing its progress, stop it, print its status, list, inspect,
// reconfigure and remove machines (asking first), and print their logs.
// cmd/skiff parses the flags into the options here; the machines
// themselves, their state and their daemon are host/machine's.
package machines

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/skiffrun/skiff/host/dockerapi"
	"github.com/skiffrun/skiff/host/format"
	"github.com/skiffrun/skiff/host/machine"
	"github.com/skiffrun/skiff/host/progress"
)

// Streams are the command's standard streams.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// Terminal reports whether Err is a terminal, where progress is
	// drawn in place.
	Terminal bool
}

// StartOptions are `skiff machine start`'s flags.
type StartOptions struct {
	// Sizes are saved in the machine's configuration before it starts.
	Sizes SizeOptions
	// Image, when set, is the guest image reference this start pulls
	// and boots (--image).
	Image string
}

// Start starts m, after saving o's changes to its configuration, showing
// its progress on s.Err: on a terminal one line updated in place with
// the time taken, else a line when the start begins and one when the
// machine is ready.
func Start(ctx context.Context, m *machine.Machine, s Streams, o StartOptions) error {
	ch, err := o.Sizes.Changes()
	if err != nil {
		return err
	}
	if !ch.Empty() {
		if _, err := m.Set(ch); err != nil {
			return err
		}
	}
	if m.Status(ctx) == machine.Running {
		fmt.Fprintf(s.Err, "Machine %q is already running\n", m.Name())
		if o.Image != "" {
			fmt.Fprintf(s.Err, "It keeps its guest image; skiff machine upgrade --image %s moves it\n", o.Image)
		}
		return dockerAPI(ctx, m, s.Err)
	}
	// The pull shows its own progress, before the start's line.
	if _, err := m.PrepareImage(ctx, machine.ImageOptions{Ref: o.Image, Out: s.Err, Terminal: s.Terminal}); err != nil {
		return err
	}
	return start(ctx, m, s)
}

// start starts m, whose guest image is prepared, showing its progress.
func start(ctx context.Context, m *machine.Machine, s Streams) error {
	// The acceleration is known once the daemon has started the VM; the
	// state before that is the last run's.
	accel := ""
	label := func() string {
		how := m.Driver()
		if accel == "" && m.Status(ctx) == machine.Starting {
			accel = m.Accel()
		}
		if accel != "" {
			how += ", " + accel
		}
		return fmt.Sprintf("Starting machine %q (%s)...", m.Name(), how)
	}
	done := func(took time.Duration) string {
		return fmt.Sprintf("Machine %q ready in %.1fs", m.Name(), took.Seconds())
	}
	if err := progress.Show(s.Err, s.Terminal, progress.Step{Label: label, Done: done}, func() error { return m.Start(ctx) }); err != nil {
		return err
	}
	return dockerAPI(ctx, m, s.Err)
}

// dockerAPI makes sure the machine's docker socket is served, writes the
// machine's docker context and says how to reach it. Failing to write
// the context is only a warning: skiff itself does not need it.
func dockerAPI(ctx context.Context, m *machine.Machine, w io.Writer) error {
	if err := m.EnsureDockerAPI(ctx); err != nil {
		return err
	}
	host := dockerapi.Address(m.DockerSocket(), m.Name())
	name, err := dockerapi.WriteContext(m.Name(), host)
	if err != nil {
		fmt.Fprintf(w, "WARNING: could not write the docker context: %v\n", err)
		return nil
	}
	fmt.Fprintf(w, "Docker API: DOCKER_HOST=%s (or: docker context use %s)\n", host, name)
	return nil
}

// Stop stops the machine o selects, which must exist.
func Stop(ctx context.Context, o machine.Options) error {
	m, err := existing(o)
	if err != nil {
		return err
	}
	return m.Stop(ctx)
}

// Status prints the state of the machine o selects, which must exist, as
// WriteStatus does.
func Status(ctx context.Context, o machine.Options, w io.Writer, value string) error {
	m, err := existing(o)
	if err != nil {
		return err
	}
	in, err := m.Info(ctx, true)
	if err != nil {
		return err
	}
	if err := WriteStatus(w, in, value); err != nil {
		return err
	}
	if value == "" {
		fmt.Fprintf(w, "DOCKER_HOST=%s\n", dockerapi.Address(m.DockerSocket(), m.Name()))
	}
	return nil
}

// ListOptions are `skiff machine ls`'s flags.
type ListOptions struct {
	// Home is the skiff home to list; "" is machine.Home's.
	Home   string
	Format string
	Quiet  bool
}

// List prints every machine under the home, as WriteList does; the
// machines it could describe are printed even when others fail.
func List(ctx context.Context, w io.Writer, o ListOptions) error {
	home := o.Home
	if home == "" {
		h, err := machine.Home()
		if err != nil {
			return err
		}
		home = h
	}
	infos, err := machine.List(ctx, home)
	if werr := WriteList(w, infos, o.Format, o.Quiet); werr != nil {
		return werr
	}
	return err
}

// Logs prints the log of the machine o selects, which must exist.
func Logs(ctx context.Context, o machine.Options, w io.Writer, lo machine.LogsOptions) error {
	m, err := existing(o)
	if err != nil {
		return err
	}
	return m.Logs(ctx, w, lo)
}

// RemoveOptions are `skiff machine rm`'s flags.
type RemoveOptions struct {
	// Force removes without asking, and stops a running machine first.
	Force bool
}

// Remove removes the machine o selects, which must exist, after asking on
// s (unless forced), and prints its name.
func Remove(ctx context.Context, o machine.Options, s Streams, ro RemoveOptions) error {
	m, err := existing(o)
	if err != nil {
		return err
	}
	if !ro.Force && !confirm(s, fmt.Sprintf("Remove machine %q and its data disk, with every image, container and volume in it?", m.Name())) {
		return fmt.Errorf("machine %q not removed", m.Name())
	}
	if err := m.Remove(ctx, ro.Force); err != nil {
		return err
	}
	fmt.Fprintln(s.Out, m.Name())
	return nil
}

// confirm asks question on s.Err and reports whether s.In answers yes.
func confirm(s Streams, question string) bool {
	fmt.Fprintf(s.Err, "%s [y/N] ", question)
	line, _ := bufio.NewReader(s.In).ReadString('\n')
	ans := strings.ToLower(strings.TrimSpace(line))
	return ans == "y" || ans == "yes"
}

// Inspect prints the named machines (the one o selects when none is
// named), each of which must exist, as JSON or the --format template.
func Inspect(ctx context.Context, o machine.Options, w io.Writer, names []string, value string) error {
	if len(names) == 0 {
		names = []string{""}
	}
	var items []any
	for _, n := range names {
		mo := o
		if n != "" {
			mo.Name = n
		}
		m, err := existing(mo)
		if err != nil {
			return err
		}
		in, err := m.Info(ctx, true)
		if err != nil {
			return err
		}
		items = append(items, in)
	}
	return format.Inspect(w, value, items)
}

// Set saves o's changes to the configuration of the machine mo selects,
// which must exist, and says when they apply.
func Set(ctx context.Context, mo machine.Options, w io.Writer, o SizeOptions) error {
	ch, err := o.Changes()
	if err != nil {
		return err
	}
	if ch.Empty() {
		return errNoChanges
	}
	m, err := existing(mo)
	if err != nil {
		return err
	}
	if _, err := m.Set(ch); err != nil {
		return err
	}
	if st := m.Status(ctx); st == machine.Running || st == machine.Starting {
		fmt.Fprintf(w, "Machine %q updated; the changes apply at its next start (skiff machine stop, then skiff machine start)\n", m.Name())
	} else {
		fmt.Fprintf(w, "Machine %q updated; the changes apply when it next starts\n", m.Name())
	}
	return nil
}

// existing is the machine o selects, which must exist.
func existing(o machine.Options) (*machine.Machine, error) {
	m, err := machine.New(o)
	if err != nil {
		return nil, err
	}
	return m, m.MustExist()
}

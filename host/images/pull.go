package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/distribution/reference"
	units "github.com/docker/go-units"

	"github.com/skiffrun/skiff/guest/api/chunk"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/host/opts"
	"github.com/skiffrun/skiff/host/tty"
)

// RegistryResolver returns what the agent needs to reach the registry
// of ref: credentials and insecure registries (see host/registry).
type RegistryResolver func(ref string) (*apiv1.RegistryOptions, error)

// PullOptions are pull's flags.
type PullOptions struct {
	Ref      string
	Platform string
	Quiet    bool
	Registry RegistryResolver
}

// Pull pulls an image and prints docker pull's output on s.Out.
func Pull(ctx context.Context, c *agentclient.Client, s Streams, o PullOptions) error {
	if o.Quiet {
		res, err := PullTo(ctx, c, io.Discard, false, o)
		if err != nil {
			return err
		}
		fmt.Fprintln(s.Out, familiar(res.GetName()))
		return nil
	}
	_, err := PullTo(ctx, c, s.Out, tty.IsTerminal(s.Out), o)
	return err
}

// PullTo pulls an image, printing progress and docker's closing lines
// on out, and returns the agent's last message.
func PullTo(ctx context.Context, c *agentclient.Client, out io.Writer, terminal bool, o PullOptions) (*apiv1.PullProgress, error) {
	if _, err := reference.ParseNormalizedNamed(o.Ref); err != nil {
		return nil, opts.Usagef("invalid reference format %q: %v", o.Ref, err)
	}
	platform, err := opts.Platform("platform", o.Platform)
	if err != nil {
		return nil, err
	}
	req := &apiv1.PullRequest{Ref: o.Ref, Platform: platform}
	if o.Registry != nil {
		if req.Registry, err = o.Registry(o.Ref); err != nil {
			return nil, err
		}
	}
	st, err := c.Images.Pull(ctx, req)
	if err != nil {
		return nil, err
	}
	p := newProgress(out, terminal)
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("pull %s: the agent ended the pull without a result", o.Ref)
		}
		if err != nil {
			return nil, err
		}
		if !m.GetDone() {
			p.update(m)
			continue
		}
		name := familiar(m.GetName())
		fmt.Fprintf(out, "Digest: %s\n", m.GetDigest())
		if m.GetUpdated() {
			fmt.Fprintf(out, "Status: Downloaded newer image for %s\n", name)
		} else {
			fmt.Fprintf(out, "Status: Image is up to date for %s\n", name)
		}
		fmt.Fprintln(out, m.GetName())
		return m, nil
	}
}

func familiar(ref string) string {
	if n, err := reference.ParseNormalizedNamed(ref); err == nil {
		return reference.FamiliarString(n)
	}
	return ref
}

// PushOptions are push's flags.
type PushOptions struct {
	Ref      string
	Quiet    bool
	Registry RegistryResolver
}

// Push sends an image to its registry, printing docker push's output.
func Push(ctx context.Context, c *agentclient.Client, s Streams, o PushOptions) error {
	if _, err := reference.ParseNormalizedNamed(o.Ref); err != nil {
		return opts.Usagef("invalid reference format %q: %v", o.Ref, err)
	}
	req := &apiv1.PushRequest{Ref: o.Ref}
	var err error
	if o.Registry != nil {
		if req.Registry, err = o.Registry(o.Ref); err != nil {
			return err
		}
	}
	st, err := c.Images.Push(ctx, req)
	if err != nil {
		return err
	}
	out := s.Out
	if o.Quiet {
		out = io.Discard
	}
	p := newProgress(out, tty.IsTerminal(s.Out))
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("push %s: the agent ended the push without a result", o.Ref)
		}
		if err != nil {
			return err
		}
		if m.GetDone() {
			if o.Quiet {
				fmt.Fprintln(s.Out, familiar(m.GetName()))
			}
			return nil
		}
		p.update(m)
	}
}

// SaveOptions are save's flags.
type SaveOptions struct {
	Images []string
	// Output is the file to write; "" is standard output.
	Output string
}

// Save writes the images to a tar archive that docker load and OCI
// tools read. A file is written beside its final name and renamed when
// complete, so a failed save leaves no partial archive.
func Save(ctx context.Context, c *agentclient.Client, s Streams, o SaveOptions) (err error) {
	out := s.Out
	if o.Output == "" {
		if tty.IsTerminal(s.Out) {
			return opts.Usagef("cowardly refusing to save to a terminal. Use the -o flag or redirect")
		}
	} else {
		dir := filepath.Dir(o.Output)
		f, err := os.CreateTemp(dir, "."+filepath.Base(o.Output)+"-")
		if err != nil {
			return opts.Invalid("output", o.Output, "%v", err)
		}
		defer func() {
			f.Close()
			if err != nil {
				os.Remove(f.Name())
			}
		}()
		out = f
		defer func() {
			if err != nil {
				return
			}
			if err = f.Sync(); err == nil {
				err = os.Chmod(f.Name(), 0o644)
			}
			if err == nil {
				err = os.Rename(f.Name(), o.Output)
			}
		}()
	}
	st, err := c.Images.Save(ctx, &apiv1.SaveRequest{Refs: o.Images})
	if err != nil {
		return err
	}
	archive := chunk.NewReader(func() ([]byte, error) {
		c, err := st.Recv()
		return c.GetData(), err
	})
	_, err = archive.WriteTo(archiveWriter{out})
	return err
}

// archiveWriter tells a failed write of the archive from a failed receive.
type archiveWriter struct{ w io.Writer }

func (a archiveWriter) Write(p []byte) (int, error) {
	n, err := a.w.Write(p)
	if err != nil {
		return n, fmt.Errorf("write image archive: %w", err)
	}
	return n, nil
}

// ImportOptions are import's flags.
type ImportOptions struct {
	// Source is a file, or "-" for standard input.
	Source    string
	Reference string
	Changes   []string
	Message   string
	Platform  string
}

// Import makes an image from a root filesystem tarball and prints its
// ID.
func Import(ctx context.Context, c *agentclient.Client, s Streams, o ImportOptions) error {
	if strings.HasPrefix(o.Source, "http://") || strings.HasPrefix(o.Source, "https://") {
		return opts.Usagef("importing from a URL is not supported; download the file and import it: skiff import FILE")
	}
	if o.Reference != "" {
		if _, err := reference.ParseNormalizedNamed(o.Reference); err != nil {
			return opts.Usagef("invalid reference format %q: %v", o.Reference, err)
		}
	}
	platform, err := opts.Platform("platform", o.Platform)
	if err != nil {
		return err
	}
	var in io.Reader
	if o.Source == "-" {
		if tty.IsTerminal(s.In) {
			return opts.Usagef("import from stdin, but stdin is a terminal; pipe a tarball in: skiff import - < rootfs.tar")
		}
		in = s.In
	} else {
		f, err := os.Open(o.Source)
		if err != nil {
			return opts.Usagef("open %s: %v", o.Source, err)
		}
		defer f.Close()
		in = f
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := c.Images.Import(ctx)
	if err != nil {
		return err
	}
	first := &apiv1.ImportChunk{Options: &apiv1.ImportOptions{Reference: o.Reference, Changes: o.Changes, Message: o.Message, Platform: platform}}
	if err := st.Send(first); err != nil {
		_, err = st.CloseAndRecv()
		return err
	}
	w := chunk.NewWriter(func(b []byte) error { return st.Send(&apiv1.ImportChunk{Data: b}) })
	_, rerr := w.ReadFrom(in)
	if err := w.Flush(); err != nil {
		// The agent ended the stream; its answer says why.
		_, err = st.CloseAndRecv()
		return err
	}
	if rerr != nil {
		// Cancelling keeps the agent from importing a truncated tarball.
		cancel()
		return fmt.Errorf("read %s: %w", o.Source, rerr)
	}
	resp, err := st.CloseAndRecv()
	if err != nil {
		return err
	}
	fmt.Fprintln(s.Out, resp.GetId())
	return nil
}

// PruneOptions are image prune's flags.
type PruneOptions struct {
	All     bool
	Force   bool
	Filters []string
}

// Prune removes unused images after asking, as docker image prune does.
func Prune(ctx context.Context, c *agentclient.Client, s Streams, o PruneOptions) error {
	filters, err := opts.Filters("filter", o.Filters)
	if err != nil {
		return err
	}
	if !o.Force {
		warning := "WARNING! This will remove all dangling images."
		if o.All {
			warning = "WARNING! This will remove all images without at least one container associated to them."
		}
		fmt.Fprintf(s.Out, "%s\nAre you sure you want to continue? [y/N] ", warning)
		var answer string
		_, _ = fmt.Fscanln(s.In, &answer)
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return nil
		}
	}
	resp, err := c.Images.Prune(ctx, &apiv1.PruneImagesRequest{All: o.All, Filters: filters})
	if err != nil {
		return err
	}
	if len(resp.GetUntagged())+len(resp.GetDeleted()) > 0 {
		fmt.Fprintln(s.Out, "Deleted Images:")
		for _, u := range resp.GetUntagged() {
			fmt.Fprintf(s.Out, "untagged: %s\n", u)
		}
		for _, d := range resp.GetDeleted() {
			fmt.Fprintf(s.Out, "deleted: %s\n", d)
		}
		fmt.Fprintln(s.Out)
	}
	fmt.Fprintf(s.Out, "Total reclaimed space: %s\n", units.HumanSize(float64(resp.GetSpaceReclaimed())))
	return nil
}

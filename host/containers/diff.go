package containers

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/skiffrun/skiff/guest/api/chunk"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/host/opts"
	"github.com/skiffrun/skiff/host/tty"
)

// Changes returns the paths container ref added, changed and deleted
// over its image, sorted.
func Changes(ctx context.Context, c *agentclient.Client, ref string) ([]*apiv1.Change, error) {
	resp, err := c.Changes.Changes(ctx, &apiv1.ContainerRef{Id: ref})
	if err != nil {
		return nil, err
	}
	return resp.GetChanges(), nil
}

// changeLetters are docker diff's letters for the kinds of change.
var changeLetters = map[int32]string{0: "C", 1: "A", 2: "D"}

// Diff prints a container's changes as docker diff does: "A /path".
func Diff(ctx context.Context, c *agentclient.Client, s Streams, ref string) error {
	changes, err := Changes(ctx, c, ref)
	if err != nil {
		return err
	}
	for _, ch := range changes {
		if _, err := fmt.Fprintf(s.Out, "%s %s\n", changeLetters[ch.GetKind()], ch.GetPath()); err != nil {
			return err
		}
	}
	return nil
}

// ExportTo writes container ref's root filesystem to w as a tar.
func ExportTo(ctx context.Context, c *agentclient.Client, ref string, w io.Writer) error {
	st, err := c.Exporter.Export(ctx, &apiv1.ContainerRef{Id: ref})
	if err != nil {
		return err
	}
	r := chunk.NewReader(func() ([]byte, error) {
		m, err := st.Recv()
		return m.GetData(), err
	})
	_, err = r.WriteTo(exportWriter{w})
	return err
}

// exportWriter tells a failed write of the tar from a failed receive.
type exportWriter struct{ w io.Writer }

func (e exportWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil {
		return n, fmt.Errorf("write export: %w", err)
	}
	return n, nil
}

// Export writes a container's root filesystem as a tar to output, or to
// standard output when output is empty (never a terminal). A file is
// written beside its name and renamed when complete.
func Export(ctx context.Context, c *agentclient.Client, s Streams, ref, output string) (err error) {
	if output == "" {
		if tty.IsTerminal(s.Out) {
			return opts.Usagef("cowardly refusing to save to a terminal. Use the -o flag or redirect")
		}
		return ExportTo(ctx, c, ref, s.Out)
	}
	f, err := os.CreateTemp(filepath.Dir(output), "."+filepath.Base(output)+"-")
	if err != nil {
		return opts.Invalid("output", output, "%v", err)
	}
	defer func() {
		f.Close()
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	if err := ExportTo(ctx, c, ref, f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write export: %w", err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("write export: %w", err)
	}
	return os.Rename(f.Name(), output)
}

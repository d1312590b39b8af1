package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/distribution/reference"

	"github.com/skiffrun/skiff/guest/api/chunk"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/host/opts"
)

// Streams are the CLI's standard streams.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// Options are build's flags.
type Options struct {
	// ContextDir is the context directory.
	ContextDir string
	// Dockerfile is -f: a path, "-" for standard input, or "" for the
	// context's Dockerfile.
	Dockerfile string
	Tags       []string
	Target     string
	NoCache    bool
	// BuildArgs are --build-arg values: KEY=VALUE, or KEY to take the
	// value from the environment.
	BuildArgs []string
	// Labels are --label values: KEY=VALUE or KEY.
	Labels []string
	Pull   bool
	Quiet  bool
	// Progress is auto, plain or tty; all print plain step lines.
	Progress string
	Platform string
	// Registry resolves what the agent needs to pull a base image: its
	// registry's credentials and the insecure registries; nil pulls
	// anonymously.
	Registry func(ref string) (*apiv1.RegistryOptions, error)
}

// request checks o and turns it into the build's options.
func request(o Options, stdin io.Reader, getenv func(string) string) (*apiv1.BuildOptions, error) {
	switch o.Progress {
	case "", "auto", "plain", "tty":
	default:
		return nil, opts.Invalid("progress", o.Progress, "use auto, plain or tty")
	}
	if o.ContextDir == "-" {
		return nil, opts.Usagef("reading the build context from standard input is not supported; give a directory")
	}
	if strings.Contains(o.Platform, ",") {
		return nil, opts.Invalid("platform", o.Platform, "skiff build makes one image; give one platform, like linux/arm64")
	}
	platform, err := opts.Platform("platform", o.Platform)
	if err != nil {
		return nil, err
	}
	req := &apiv1.BuildOptions{
		Target:    o.Target,
		NoCache:   o.NoCache,
		Pull:      o.Pull,
		Platform:  platform,
		BuildArgs: map[string]string{},
		Labels:    map[string]string{},
	}
	for _, t := range o.Tags {
		n, err := reference.ParseNormalizedNamed(t)
		if err != nil {
			return nil, opts.Invalid("tag", t, "invalid reference format: use NAME[:TAG]")
		}
		if _, ok := n.(reference.Canonical); ok {
			return nil, opts.Invalid("tag", t, "a tag cannot name a digest")
		}
		req.Tags = append(req.Tags, t)
	}
	for _, a := range o.BuildArgs {
		k, v, ok := strings.Cut(a, "=")
		if k == "" {
			return nil, opts.Invalid("build-arg", a, "use KEY=VALUE")
		}
		if !ok {
			// docker's rule: KEY alone takes the value from the
			// environment, and is left out when unset there.
			if v = getenv(k); v == "" {
				continue
			}
		}
		req.BuildArgs[k] = v
	}
	for _, l := range o.Labels {
		k, v, _ := strings.Cut(l, "=")
		if k == "" {
			return nil, opts.Invalid("label", l, "use KEY=VALUE")
		}
		req.Labels[k] = v
	}
	fi, err := os.Stat(o.ContextDir)
	if err != nil || !fi.IsDir() {
		return nil, opts.Invalid("context", o.ContextDir, "give a directory that exists")
	}
	switch o.Dockerfile {
	case "-":
		data, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("read the Dockerfile from standard input: %w", err)
		}
		req.Dockerfile, req.DockerfileName = data, "Dockerfile"
	default:
		p := o.Dockerfile
		if p == "" {
			p = filepath.Join(o.ContextDir, "Dockerfile")
		}
		data, err := os.ReadFile(p)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("failed to read dockerfile: %s does not exist; give it with -f", p)
			}
			return nil, fmt.Errorf("failed to read dockerfile: %w", err)
		}
		req.Dockerfile, req.DockerfileName = data, filepath.Base(p)
	}
	return req, nil
}

// Build streams the context to the agent, prints the build's progress
// (on standard error, unless quiet) and the image ID on standard output.
func Build(ctx context.Context, c *agentclient.Client, s Streams, o Options) error {
	req, err := request(o, s.In, os.Getenv)
	if err != nil {
		return err
	}
	patterns, err := ReadIgnore(o.ContextDir, o.Dockerfile)
	if err != nil {
		return err
	}
	m, err := NewMatcher(patterns)
	if err != nil {
		return err
	}
	if o.Registry != nil {
		if err := registryFor(req, o.Registry); err != nil {
			return err
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := c.Builder.Build(ctx)
	if err != nil {
		return err
	}
	if err := st.Send(&apiv1.BuildInput{Msg: &apiv1.BuildInput_Options{Options: req}}); err != nil {
		_, rerr := st.Recv()
		if rerr != nil {
			return rerr
		}
		return err
	}
	sendErr := make(chan error, 1)
	go func() {
		err := sendContext(st, o.ContextDir, m)
		sendErr <- err
		if err != nil {
			// Cancelling, rather than closing the send side, keeps the
			// agent from building from a truncated context.
			cancel()
		}
	}()
	var id string
	for {
		out, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			select {
			case serr := <-sendErr:
				if serr != nil {
					return serr
				}
			default:
			}
			return err
		}
		if p := out.GetProgress(); p != nil && !o.Quiet {
			_, _ = s.Err.Write(p)
		}
		if v := out.GetImageId(); v != "" {
			id = v
		}
	}
	if id == "" {
		return errors.New("the build ended without an image; see the agent's log")
	}
	fmt.Fprintln(s.Out, id)
	return nil
}

// sendContext sends the context tar in chunks, then closes the send
// side. When the agent ends the build early, its Recv says why.
func sendContext(st apiv1.Builder_BuildClient, dir string, m *Matcher) error {
	w := chunk.NewWriter(func(b []byte) error {
		return st.Send(&apiv1.BuildInput{Msg: &apiv1.BuildInput_Context{Context: b}})
	})
	err := WriteContext(w, dir, m)
	if w.Flush() != nil {
		return nil
	}
	if err != nil {
		return err
	}
	return st.CloseSend()
}

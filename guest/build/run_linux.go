package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiffrun/skiff/guest/ocispec"
	"github.com/skiffrun/skiff/guest/passwd"
	"github.com/skiffrun/skiff/guest/runner"
)

// runSpec is what one RUN executes.
type runSpec struct {
	id   string
	args []string
	env  []string
	user string
	cwd  string
	arch string
}

// exitError is a RUN whose process failed.
type exitError struct {
	args []string
	code int
}

func (e *exitError) Error() string {
	return fmt.Sprintf("process %q did not complete successfully: exit code: %d", strings.Join(e.args, " "), e.code)
}

// run runs r as a container on the mounted snapshot s, with its output
// going to out, and leaves no mount stub behind in s.
func (b *Builder) run(ctx context.Context, s *snapshot, etc string, r runSpec, out io.Writer) error {
	id, err := passwd.Lookup(s.rootfs, r.user)
	if err != nil {
		return err
	}
	if !hasEnv(r.env, "HOME") {
		r.env = append(r.env, "HOME="+id.Home)
	}
	if _, err := mkdirAllOwned(s.rootfs, r.cwd, int(id.UID), int(id.GID)); err != nil {
		return fmt.Errorf("working directory: %w", err)
	}
	opts := ocispec.Options{
		ID:             r.id,
		Rootfs:         s.rootfs,
		Args:           r.args,
		Env:            r.env,
		Cwd:            r.cwd,
		UID:            id.UID,
		GID:            id.GID,
		AdditionalGids: id.Groups,
		Hostname:       "skiff-build",
		HostsPath:      filepath.Join(etc, "hosts"),
		ResolvConfPath: filepath.Join(etc, "resolv.conf"),
		ImageArch:      r.arch,
		// A build reaches the network the machine has, as docker build's
		// default network reaches the outside.
		NetworkMode: "host",
		CgroupsPath: "/skiff/" + r.id,
	}
	spec, err := ocispec.Build(opts)
	if err != nil {
		return err
	}
	stubs := missingPaths(s.rootfs, spec.Mounts)

	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(out, pr)
		pr.Close()
	}()
	proc, err := b.runner.Start(r.id, spec, runner.Stdio{Stdout: pw, Stderr: pw}, nil)
	pw.Close()
	if err != nil {
		<-copied
		removeStubs(stubs)
		if errors.Is(err, runner.ErrCommandNotFound) || errors.Is(err, runner.ErrNotExecutable) {
			return fmt.Errorf("process %q did not start: %w", strings.Join(r.args, " "), err)
		}
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = proc.Signal(syscall.SIGKILL) })
	code, werr := proc.Wait()
	stop()
	<-copied
	derr := b.runner.Destroy(r.id)
	removeStubs(stubs)
	if werr != nil {
		return werr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if derr != nil {
		return derr
	}
	if code != 0 {
		return &exitError{args: r.args, code: code}
	}
	return nil
}

// missingPaths lists the mount destinations that rootfs lacks: the
// runtime creates them as mount points, and they must not end up in the
// layer.
func missingPaths(rootfs string, mounts []specs.Mount) []string {
	var out []string
	for _, m := range mounts {
		p, err := securejoin.SecureJoin(rootfs, m.Destination)
		if err != nil {
			continue
		}
		// The first missing component is what the runtime creates.
		var first string
		for q := p; len(q) > len(rootfs); q = filepath.Dir(q) {
			if _, err := os.Lstat(q); err == nil {
				break
			}
			first = q
		}
		if first != "" {
			out = append(out, first)
		}
	}
	return out
}

// removeStubs removes the mount points the runtime created, when they
// are still empty.
func removeStubs(stubs []string) {
	for i := len(stubs) - 1; i >= 0; i-- {
		p := stubs[i]
		fi, err := os.Lstat(p)
		if err != nil {
			continue
		}
		if fi.IsDir() || fi.Size() == 0 {
			// Remove fails on a directory something was written into,
			// which then stays, as it should.
			_ = os.Remove(p)
		}
	}
}

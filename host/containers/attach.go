package containers

import (
	"context"
	"errors"
	"fmt"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/containerd/errdefs"

	"github.com/skiffrun/skiff/guest/api/errclass"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/host/opts"
	"github.com/skiffrun/skiff/host/stream"
	"github.com/skiffrun/skiff/host/tty"
)

// RunOptions are run's flags: the container's, and how to attach to it.
type RunOptions struct {
	CreateOptions
	Detach     bool
	SigProxy   bool
	DetachKeys string
}

// Run creates a container and starts it: detached, it prints the id;
// attached, it streams the container's standard streams and returns its
// exit code (0 when the user detaches).
func Run(ctx context.Context, c *agentclient.Client, s Streams, o RunOptions) (int, error) {
	o.StdinOnce = !o.Detach
	o.AttachStdin, o.AttachStdout, o.AttachStderr = o.Interactive && !o.Detach, !o.Detach, !o.Detach
	req, err := o.Request()
	if err != nil {
		return 0, err
	}
	keys, err := detachKeys(o.DetachKeys)
	if err != nil {
		return 0, err
	}
	if !o.Detach {
		if err := checkTTY(s, o.Interactive, o.TTY); err != nil {
			return 0, err
		}
	}
	resp, err := create(ctx, c, s, req, o.Registry)
	if err != nil {
		return 0, err
	}
	if o.Detach {
		if _, err := c.Containers.Start(ctx, &apiv1.ContainerRef{Id: resp.GetId()}); err != nil {
			return 0, err
		}
		fmt.Fprintln(s.Out, resp.GetId())
		return 0, nil
	}
	first := &apiv1.StreamInput{Msg: &apiv1.StreamInput_Attach{Attach: &apiv1.AttachStart{
		Id:     resp.GetId(),
		Stdin:  o.Interactive,
		Stdout: true,
		Stderr: true,
		Start:  true,
		Size:   termSize(s, o.TTY),
	}}}
	return attach(ctx, c, s, first, attachment{
		id:         resp.GetId(),
		tty:        o.TTY,
		stdin:      o.Interactive,
		detachKeys: keys,
		sigProxy:   o.SigProxy,
	})
}

// StartOptions are start's flags.
type StartOptions struct {
	Containers  []string
	Attach      bool
	Interactive bool
	DetachKeys  string
}

// Start starts containers and prints each name. With Attach or
// Interactive it starts one container attached and returns its exit code.
func Start(ctx context.Context, c *agentclient.Client, s Streams, o StartOptions) (int, error) {
	if !o.Attach && !o.Interactive {
		return 0, eachContainer(o.Containers, s, func(id string) error {
			_, err := c.Containers.Start(ctx, &apiv1.ContainerRef{Id: id})
			return err
		})
	}
	if len(o.Containers) != 1 {
		return 0, opts.Usagef("you cannot start and attach multiple containers at once; start them, then attach to one")
	}
	keys, err := detachKeys(o.DetachKeys)
	if err != nil {
		return 0, err
	}
	ctr, err := c.Containers.Inspect(ctx, &apiv1.ContainerRef{Id: o.Containers[0]})
	if err != nil {
		return 0, err
	}
	tty, stdin := ctr.GetConfig().GetTty(), o.Interactive && ctr.GetConfig().GetOpenStdin()
	if err := checkTTY(s, stdin, tty); err != nil {
		return 0, err
	}
	first := &apiv1.StreamInput{Msg: &apiv1.StreamInput_Attach{Attach: &apiv1.AttachStart{
		Id: ctr.GetId(), Stdin: stdin, Stdout: true, Stderr: true, Start: true, Size: termSize(s, tty),
	}}}
	return attach(ctx, c, s, first, attachment{id: ctr.GetId(), tty: tty, stdin: stdin, detachKeys: keys, sigProxy: true})
}

// AttachOptions are attach's flags.
type AttachOptions struct {
	Container  string
	NoStdin    bool
	SigProxy   bool
	DetachKeys string
}

// Attach connects to a running container's standard streams and returns
// its exit code once it stops (0 when the user detaches).
func Attach(ctx context.Context, c *agentclient.Client, s Streams, o AttachOptions) (int, error) {
	keys, err := detachKeys(o.DetachKeys)
	if err != nil {
		return 0, err
	}
	ctr, err := c.Containers.Inspect(ctx, &apiv1.ContainerRef{Id: o.Container})
	if err != nil {
		return 0, err
	}
	switch st := ctr.GetState(); {
	case st.GetPaused():
		return 0, errclass.Errorf(errdefs.ErrFailedPrecondition, "you cannot attach to a paused container, unpause it first")
	case !st.GetRunning():
		return 0, errclass.Errorf(errdefs.ErrFailedPrecondition, "you cannot attach to a stopped container, start it first")
	}
	tty, stdin := ctr.GetConfig().GetTty(), !o.NoStdin && ctr.GetConfig().GetOpenStdin()
	if err := checkTTY(s, stdin, tty); err != nil {
		return 0, err
	}
	first := &apiv1.StreamInput{Msg: &apiv1.StreamInput_Attach{Attach: &apiv1.AttachStart{
		Id: ctr.GetId(), Stdin: stdin, Stdout: true, Stderr: true, Size: termSize(s, tty),
	}}}
	return attach(ctx, c, s, first, attachment{id: ctr.GetId(), tty: tty, stdin: stdin, detachKeys: keys, sigProxy: o.SigProxy})
}

// ExecOptions are exec's flags.
type ExecOptions struct {
	Container   string
	Args        []string
	Detach      bool
	Interactive bool
	TTY         bool
	Privileged  bool
	Env         []string
	EnvFiles    []string
	Workdir     string
	User        string
	DetachKeys  string
}

// Exec runs a command in a running container and returns its exit code.
func Exec(ctx context.Context, c *agentclient.Client, s Streams, o ExecOptions) (int, error) {
	if len(o.Args) == 0 {
		return 0, opts.Usagef("a command is required, as in: skiff exec %s sh", o.Container)
	}
	env, err := opts.Env(o.EnvFiles, o.Env, lookupEnv)
	if err != nil {
		return 0, err
	}
	wd, err := opts.AbsPath("workdir", o.Workdir)
	if err != nil {
		return 0, err
	}
	keys, err := detachKeys(o.DetachKeys)
	if err != nil {
		return 0, err
	}
	stdin := o.Interactive && !o.Detach
	if !o.Detach {
		if err := checkTTY(s, stdin, o.TTY); err != nil {
			return 0, err
		}
	}
	first := &apiv1.StreamInput{Msg: &apiv1.StreamInput_Exec{Exec: &apiv1.ExecStart{
		ContainerId: o.Container,
		Args:        o.Args,
		Env:         env,
		WorkingDir:  wd,
		User:        o.User,
		Tty:         o.TTY,
		Stdin:       stdin,
		Privileged:  o.Privileged,
		Detach:      o.Detach,
		Size:        termSize(s, o.TTY && !o.Detach),
	}}}
	return attach(ctx, c, s, first, attachment{exec: true, id: o.Container, tty: o.TTY, stdin: stdin, detachKeys: keys})
}

// attachment says how to connect the CLI's streams to one attach or exec.
type attachment struct {
	// exec opens an Exec stream rather than an Attach stream.
	exec       bool
	id         string
	tty        bool
	stdin      bool
	detachKeys []byte
	// sigProxy forwards the CLI's signals to the container (not to an
	// exec'd process: docker does not either). Only without a terminal:
	// with one, ctrl-c is a keystroke for the container.
	sigProxy bool
}

func attach(ctx context.Context, c *agentclient.Client, s Streams, first *apiv1.StreamInput, o attachment) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if o.tty && o.stdin && tty.IsTerminal(s.In) {
		restore, err := tty.MakeRaw(s.In)
		if err != nil {
			return 0, err
		}
		defer restore()
		// In raw mode ctrl-c is a keystroke, but a SIGTERM or a closed
		// terminal would still end skiff; ending the stream instead lets
		// the deferred restore run.
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGHUP)
		defer stop()
	}
	open := c.Containers.Attach
	if o.exec {
		open = c.Containers.Exec
	}
	st, err := open(ctx)
	if err != nil {
		return 0, err
	}
	if o.sigProxy && !o.tty {
		stop := stream.ProxySignals(ctx, func(ctx context.Context, sig string) error {
			_, err := c.Containers.Kill(ctx, &apiv1.KillRequest{Id: o.id, Signal: sig})
			return err
		})
		defer stop()
	}
	so := stream.Options{Stdout: s.Out, Stderr: s.Err, TTY: o.tty}
	if o.stdin {
		so.Stdin = s.In
		so.DetachKeys = o.detachKeys
	}
	if o.tty && tty.IsTerminal(s.Out) {
		so.Resize = tty.WatchSize(ctx, s.Out)
	}
	exit, err := stream.Run(ctx, st, first, so)
	if err != nil {
		return 0, err
	}
	return exitCode(exit)
}

// exitCode turns an Exit message into the CLI's exit code, and an error
// when the process could not run at all.
func exitCode(exit *apiv1.Exit) (int, error) {
	code := int(exit.GetCode())
	if exit.GetDetached() {
		return 0, nil
	}
	if exit.GetError() != "" {
		if code == 0 {
			code = 125
		}
		return code, &agentclient.ExitError{Code: code, Err: errors.New(exit.GetError())}
	}
	return code, nil
}

// checkTTY refuses -it when stdin is not a terminal, as docker does: raw
// keystrokes cannot be had from a pipe.
func checkTTY(s Streams, stdin, wantTTY bool) error {
	if !stdin || !wantTTY || tty.IsTerminal(s.In) {
		return nil
	}
	msg := "the input device is not a TTY; drop -t, or run skiff from a terminal"
	if runtime.GOOS == "windows" {
		msg += " (with mintty, prefix the command with 'winpty')"
	}
	return errors.New(msg)
}

func termSize(s Streams, wantTTY bool) *apiv1.Resize {
	if !wantTTY {
		return nil
	}
	if sz, ok := tty.GetSize(s.Out); ok {
		return stream.Resize(sz)
	}
	if sz, ok := tty.GetSize(s.In); ok {
		return stream.Resize(sz)
	}
	return nil
}

func detachKeys(v string) ([]byte, error) {
	keys, err := tty.ParseDetachKeys(v)
	if err != nil {
		return nil, opts.Invalid("detach-keys", v, "use a comma-separated list of characters and ctrl-<key>, like %s", tty.DefaultDetachKeys)
	}
	return keys, nil
}

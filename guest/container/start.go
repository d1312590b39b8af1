package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/errdefs"

	"github.com/skiffrun/skiff/guest/api/errstatus"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/ocispec"
	"github.com/skiffrun/skiff/guest/passwd"
)

// ErrCommandNotFound and ErrNotExecutable classify a start that failed
// because of the command itself; the runtime wraps them.
var (
	ErrCommandNotFound = errors.New("executable file not found")
	ErrNotExecutable   = errors.New("permission denied")
)

// kindError is an error with its own message that is still of a kind
// (errors.Is) without repeating the kind's words.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func commandError(msg string, kind error) error { return &kindError{msg: msg, kind: kind} }

// ExitCodeError is a failure that the CLI reports with a particular exit
// code: 126 for a command that cannot be executed, 127 for one that does
// not exist. The agent's gRPC edge sends the code along (errstatus).
type ExitCodeError struct {
	Code int32
	Err  error
}

var _ errstatus.ExitCoder = (*ExitCodeError)(nil)

func (e *ExitCodeError) Error() string   { return e.Err.Error() }
func (e *ExitCodeError) Unwrap() error   { return e.Err }
func (e *ExitCodeError) ExitCode() int32 { return e.Code }

// execution is one run of a container's first process.
type execution struct {
	proc    Process
	stdin   io.WriteCloser
	started time.Time
	// outputs counts the goroutines copying the process's output.
	outputs sync.WaitGroup
	// done is closed once the run has ended and its state is recorded.
	done chan struct{}
	// env and cwd are the first process's, which exec starts from.
	env []string
	cwd string
}

// Start starts container ref. Starting a running container does nothing,
// as with Docker.
func (m *Manager) Start(ctx context.Context, ref string) error {
	c, err := m.get(ref)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.removed {
		return fmt.Errorf("No such container: %s: %w", ref, errdefs.ErrNotFound)
	}
	if c.run != nil {
		return nil
	}
	c.cancelRestart()
	c.rec.ManuallyStopped = false
	return m.startLocked(ctx, c)
}

// startLocked starts c's first process. Call with c.mu held. On error
// nothing is left mounted or running, and the error is recorded.
func (m *Manager) startLocked(ctx context.Context, c *ctr) (retErr error) {
	rec := c.rec
	defer func() {
		if retErr != nil {
			rec.State.Error = retErr.Error()
			var ec *ExitCodeError
			if errors.As(retErr, &ec) {
				rec.State.ExitCode = ec.Code
			} else {
				rec.State.ExitCode = 128
			}
			c.saveState()
			c.notify()
		}
	}()
	img, err := m.imageOf(ctx, rec)
	if err != nil {
		return err
	}
	rootfs := rec.Rootfs
	if err := mountRootfs(img.Layers, filepath.Join(c.dir, "upper"), filepath.Join(c.dir, "work"), rootfs, rec.HostConfig.GetAutoRemove()); err != nil {
		return err
	}
	defer func() {
		if retErr != nil {
			_ = unmountRootfs(rootfs)
		}
	}()
	opts, err := m.processOptions(rec, img.Config, rootfs)
	if err != nil {
		return err
	}
	opts.ImageArch = img.Architecture
	if opts.NetNSPath, err = m.prepareNetwork(ctx, rec); err != nil {
		return err
	}
	// The interfaces are plugged while the runtime sets up the
	// container's init, which runs the first process only once they are.
	attached := m.attachNetwork(ctx, rec)
	defer func() {
		if retErr != nil {
			_ = attached()
			m.detachNetwork(rec.Id)
		}
	}()
	if opts.Mounts, err = specMounts(rootfs, rec.Mounts); err != nil {
		return err
	}
	spec, err := ocispec.Build(opts)
	if err != nil {
		return err
	}

	ex := &execution{done: make(chan struct{}), env: opts.Env, cwd: opts.Cwd}
	stdio, closeChild, err := m.openStdio(c, ex, rec.Config.Tty, rec.Config.OpenStdin)
	if err != nil {
		return err
	}
	stdio.Width, stdio.Height = c.size()
	proc, err := m.rt.Start(rec.Id, spec, stdio, attached)
	closeChild()
	if err != nil {
		ex.closeStdin()
		ex.outputs.Wait()
		if nerr := attached(); nerr != nil {
			return nerr
		}
		return startFailure(rec, err)
	}
	ex.proc = proc
	ex.started = time.Now()
	if con := proc.Console(); con != nil {
		ex.stdin = con
		ex.outputs.Add(1)
		go m.copyOutput(c, ex, con, apiv1.StreamKind_STREAM_STDOUT)
	}
	c.run = ex
	prevHealth := rec.State.GetHealth()
	rec.State = &apiv1.ContainerState{
		Status:    "running",
		Running:   true,
		Pid:       int32(proc.Pid()),
		StartedAt: ex.started.UnixNano(),
	}
	m.startHealth(c, ex, prevHealth)
	c.saveState()
	c.notify()
	m.emitVolumes(rec, "mount")
	m.emit(rec, "start", nil)
	go m.monitor(c, ex)
	return nil
}

// startFailure turns a runtime start error into the error the user sees.
func startFailure(rec *apiv1.Container, err error) error {
	var code int32
	switch {
	case errors.Is(err, ErrCommandNotFound):
		code = 127
	case errors.Is(err, ErrNotExecutable):
		code = 126
	default:
		return fmt.Errorf("start container %s: %w", rec.Name, err)
	}
	return &ExitCodeError{Code: code, Err: fmt.Errorf("cannot run %q in container %s: %w", rec.Path, rec.Name, err)}
}

// openStdio makes the standard streams of a run: a terminal, or pipes
// whose output goes to the log and attached clients. closeChild closes
// the agent's copy of the container's ends once the container holds them.
func (m *Manager) openStdio(c *ctr, ex *execution, tty, openStdin bool) (Stdio, func(), error) {
	if tty {
		return Stdio{Terminal: true}, func() {}, nil
	}
	ex.outputs.Add(2)
	p, err := openPipes(openStdin, func(r *os.File, kind apiv1.StreamKind) { m.copyOutput(c, ex, r, kind) })
	if err != nil {
		ex.outputs.Add(-2)
		return Stdio{}, nil, err
	}
	if p.stdin != nil {
		ex.stdin = p.stdin
	}
	return p.stdio, p.closeChild, nil
}

// copyOutput passes what the container writes to its log and to attached
// clients, until the stream ends.
func (m *Manager) copyOutput(c *ctr, ex *execution, r *os.File, kind apiv1.StreamKind) {
	defer ex.outputs.Done()
	defer r.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			data := append([]byte(nil), buf[:n]...)
			c.log.Write(kind, data)
			c.broadcast(&apiv1.StreamOutput{Msg: &apiv1.StreamOutput_Output{Output: &apiv1.Output{Stream: kind, Data: data}}})
		}
		if err != nil {
			// EIO is how a pty master reports that the last slave closed.
			return
		}
	}
}

func (ex *execution) closeStdin() {
	if ex.stdin != nil {
		_ = ex.stdin.Close()
	}
}

// monitor waits for the end of a run, records it, and applies the
// restart policy.
func (m *Manager) monitor(c *ctr, ex *execution) {
	code, err := ex.proc.Wait()
	if err != nil {
		m.log.Error("wait for container", "id", c.rec.Id, "err", err)
	}
	ex.outputs.Wait()
	c.log.Flush()
	id := c.rec.Id
	oom := m.rt.OOMKilled(id)
	if err := m.rt.Destroy(id); err != nil {
		m.log.Error("destroy container runtime state", "id", id, "err", err)
	}
	m.detachNetwork(id)
	ex.closeStdin()
	if err := unmountRootfs(c.rec.Rootfs); err != nil {
		m.log.Error("unmount container rootfs", "id", id, "err", err)
	}

	c.mu.Lock()
	now := time.Now()
	rec := c.rec
	rec.State = &apiv1.ContainerState{
		Status:     "exited",
		ExitCode:   int32(code),
		OomKilled:  oom,
		StartedAt:  rec.State.StartedAt,
		FinishedAt: now.UnixNano(),
		Health:     stoppedHealth(rec.State.GetHealth()),
	}
	c.run = nil
	c.exits++
	if oom {
		m.emit(rec, "oom", nil)
	}
	m.emitVolumes(rec, "unmount")
	m.emit(rec, "die", map[string]string{
		"exitCode":     strconv.Itoa(code),
		"execDuration": strconv.Itoa(int(now.Sub(ex.started).Seconds())),
	})
	restart := !c.shutdown && shouldRestart(rec.HostConfig.RestartPolicy, code, rec.RestartCount, rec.ManuallyStopped)
	if restart {
		c.backoff = nextBackoff(c.backoff, now.Sub(ex.started))
		rec.State.Status = "restarting"
		rec.State.Restarting = true
		c.scheduleRestart(m, c.backoff)
	}
	autoRemove := rec.HostConfig.AutoRemove && !restart
	// A record removed next need not reach the disk first: should the
	// agent stop in between, restore removes an auto-remove container.
	if !autoRemove {
		c.saveState()
	}
	subs := c.takeSubscribers()
	c.notify()
	c.mu.Unlock()

	if autoRemove {
		if err := m.removeStopped(c); err != nil {
			m.log.Error("remove container", "id", id, "err", err)
		}
	}
	if !restart {
		c.log.endFollowers()
	}
	exit := &apiv1.StreamOutput{Msg: &apiv1.StreamOutput_Exit{Exit: &apiv1.Exit{Code: int32(code)}}}
	for _, s := range subs {
		s.send(exit)
		s.end()
	}
	close(ex.done)
}

// scheduleRestart starts c again after delay. Call with c.mu held.
func (c *ctr) scheduleRestart(m *Manager, delay time.Duration) {
	var t *time.Timer
	t = time.AfterFunc(delay, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.restart != t || c.removed {
			return
		}
		c.restart = nil
		c.rec.RestartCount++
		if err := m.startLocked(context.Background(), c); err != nil {
			m.log.Error("restart container", "id", c.rec.Id, "err", err)
			c.rec.State.Status = "exited"
			c.rec.State.Restarting = false
			c.saveState()
			c.notify()
		}
	})
	c.restart = t
}

// cancelRestart stops a pending restart. Call with c.mu held.
func (c *ctr) cancelRestart() {
	if c.restart == nil {
		return
	}
	c.restart.Stop()
	c.restart = nil
	c.rec.State.Restarting = false
	c.rec.State.Status = "exited"
	c.notify()
}

// processOptions merges the image's config and the user's into the spec
// options of the container's first process.
func (m *Manager) processOptions(rec *apiv1.Container, img *apiv1.ImageConfig, rootfs string) (ocispec.Options, error) {
	cfg, hc := rec.Config, rec.HostConfig
	env := mergeEnv(img.GetEnv(), cfg.Env)
	env = setDefaultEnv(env, "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	env = setEnv(env, "HOSTNAME", cfg.Hostname)
	if cfg.Tty {
		env = setDefaultEnv(env, "TERM", "xterm")
	}
	userSpec := cfg.User
	if userSpec == "" {
		userSpec = img.GetUser()
	}
	u, err := passwd.Lookup(rootfs, userSpec)
	if err != nil {
		return ocispec.Options{}, err
	}
	env = setDefaultEnv(env, "HOME", u.Home)
	cwd := cfg.WorkingDir
	if cwd == "" {
		cwd = img.GetWorkingDir()
	}
	if cwd == "" {
		cwd = "/"
	}
	if err := ensureDir(rootfs, cwd, u.UID, u.GID); err != nil {
		return ocispec.Options{}, err
	}
	argv := append([]string{rec.Path}, rec.Args...)
	if err := checkCommand(rootfs, rec.Mounts, argv[0], envValue(env, "PATH")); err != nil {
		return ocispec.Options{}, err
	}
	opts := ocispec.Options{
		ID:             rec.Id,
		Rootfs:         rootfs,
		Args:           argv,
		Env:            env,
		Cwd:            cwd,
		UID:            u.UID,
		GID:            u.GID,
		AdditionalGids: u.Groups,
		Terminal:       cfg.Tty,
		Hostname:       cfg.Hostname,
		HostsPath:      rec.HostsPath,
		ResolvConfPath: rec.ResolvConfPath,
		HostnamePath:   rec.HostnamePath,
		ReadOnly:       hc.ReadOnly,
		Privileged:     hc.Privileged,
		CapAdd:         hc.CapAdd,
		CapDrop:        hc.CapDrop,
		NetworkMode:    hc.NetworkMode,
		Resources: ocispec.Resources{
			Memory:            hc.Memory,
			MemorySwap:        hc.MemorySwap,
			MemoryReservation: hc.MemoryReservation,
			NanoCPUs:          hc.NanoCpus,
			CPUShares:         hc.CpuShares,
			CpusetCpus:        hc.CpusetCpus,
			PidsLimit:         hc.PidsLimit,
		},
		ShmSize:     hc.ShmSize,
		Sysctls:     hc.Sysctls,
		Tmpfs:       hc.Tmpfs,
		CgroupsPath: "/skiff/" + rec.Id,
	}
	for _, ul := range hc.Ulimits {
		opts.Ulimits = append(opts.Ulimits, ocispec.Ulimit{Name: ul.Name, Soft: uint64(ul.Soft), Hard: uint64(ul.Hard)})
	}
	for _, o := range hc.SecurityOpt {
		switch o {
		case "seccomp=unconfined", "seccomp:unconfined":
			opts.SeccompUnconfined = true
		case "no-new-privileges", "no-new-privileges=true", "no-new-privileges:true":
			opts.NoNewPrivileges = true
		}
	}
	return opts, nil
}

// stopSignal is the signal that asks a container to stop: its own
// (from --stop-signal or the image, recorded at create) or SIGTERM.
func stopSignal(rec *apiv1.Container) syscall.Signal {
	if sig, err := ParseSignal(rec.Config.StopSignal); err == nil {
		return sig
	}
	return sigTERM
}

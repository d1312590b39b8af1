package container

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/ocispec"
	"github.com/skiffrun/skiff/guest/passwd"
)

// ExecProcess is a process started in a running container by Exec.
type ExecProcess struct {
	proc    Process
	stdin   *os.File
	outputs sync.WaitGroup
	// Output carries the process's output and, last, its Exit.
	Output chan *apiv1.StreamOutput
	gone   chan struct{}
}

// Exec starts req's command in a running container. Output goes to the
// returned process's Output channel until an Exit message; gone is closed
// by the caller when it stops reading.
func (m *Manager) Exec(ctx context.Context, req *apiv1.ExecStart, gone chan struct{}) (*ExecProcess, error) {
	c, err := m.get(req.GetContainerId())
	if err != nil {
		return nil, err
	}
	if len(req.Args) == 0 {
		return nil, fmt.Errorf("no command given to exec: %w", errdefs.ErrInvalidArgument)
	}
	c.mu.Lock()
	ex := c.run
	rec := clone(c.rec)
	c.mu.Unlock()
	if ex == nil {
		return nil, fmt.Errorf("container %s is not running: start it first (skiff start %s): %w", rec.Name, rec.Name, errdefs.ErrConflict)
	}
	if rec.State.Paused {
		return nil, fmt.Errorf("container %s is paused, unpause the container before exec (skiff unpause %s): %w", rec.Name, rec.Name, errdefs.ErrConflict)
	}
	userSpec := req.User
	if userSpec == "" {
		userSpec = rec.Config.User
	}
	u, err := passwd.Lookup(rec.Rootfs, userSpec)
	if err != nil {
		return nil, err
	}
	env := mergeEnv(ex.env, req.Env)
	if req.Tty {
		env = setDefaultEnv(env, "TERM", "xterm")
	}
	if err := checkCommand(rec.Rootfs, rec.Mounts, req.Args[0], envValue(env, "PATH")); err != nil {
		return nil, err
	}
	cwd := req.WorkingDir
	if cwd == "" {
		cwd = ex.cwd
	}
	base := ocispec.DefaultCapabilities
	if rec.HostConfig.Privileged || req.Privileged {
		base = ocispec.AllCapabilities()
	}
	caps, err := ocispec.Capabilities(base, rec.HostConfig.CapAdd, rec.HostConfig.CapDrop)
	if err != nil {
		return nil, err
	}
	ps := &specs.Process{
		Terminal: req.Tty,
		Args:     req.Args,
		Env:      env,
		Cwd:      cwd,
		User:     specs.User{UID: u.UID, GID: u.GID, AdditionalGids: u.Groups},
		Capabilities: &specs.LinuxCapabilities{
			Bounding: caps, Effective: caps, Permitted: caps,
		},
	}
	p := &ExecProcess{Output: make(chan *apiv1.StreamOutput, 64), gone: gone}
	var stdio Stdio
	var child []*os.File
	if req.Tty {
		stdio.Terminal = true
		if sz := req.GetSize(); sz != nil {
			stdio.Width, stdio.Height = uint16(sz.Width), uint16(sz.Height)
		}
	} else {
		p.outputs.Add(2)
		pp, err := openPipes(req.Stdin, p.copy)
		if err != nil {
			p.outputs.Add(-2)
			return nil, err
		}
		stdio, p.stdin = pp.stdio, pp.stdin
		child = pp.child
	}
	proc, err := m.rt.Exec(rec.Id, ps, stdio)
	closeAll(child)
	if err != nil {
		if p.stdin != nil {
			p.stdin.Close()
		}
		p.outputs.Wait()
		return nil, startFailure(rec, err)
	}
	p.proc = proc
	execID := map[string]string{"execID": newID()}
	m.emit(rec, execAction("exec_create", req.Args), execID)
	m.emit(rec, execAction("exec_start", req.Args), execID)
	if con := proc.Console(); con != nil {
		p.stdin = con
		p.outputs.Add(1)
		go p.copy(con, apiv1.StreamKind_STREAM_STDOUT)
	}
	go func() {
		code, _ := proc.Wait()
		m.emit(rec, "exec_die", map[string]string{"execID": execID["execID"], "exitCode": strconv.Itoa(code)})
		p.outputs.Wait()
		if p.stdin != nil {
			p.stdin.Close()
		}
		p.send(&apiv1.StreamOutput{Msg: &apiv1.StreamOutput_Exit{Exit: &apiv1.Exit{Code: int32(code)}}})
		close(p.Output)
	}()
	return p, nil
}

func (p *ExecProcess) copy(r *os.File, kind apiv1.StreamKind) {
	defer p.outputs.Done()
	defer r.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			p.send(&apiv1.StreamOutput{Msg: &apiv1.StreamOutput_Output{Output: &apiv1.Output{Stream: kind, Data: append([]byte(nil), buf[:n]...)}}})
		}
		if err != nil {
			return
		}
	}
}

func (p *ExecProcess) send(msg *apiv1.StreamOutput) {
	select {
	case p.Output <- msg:
	case <-p.gone:
	}
}

// WriteStdin passes input to the process.
func (p *ExecProcess) WriteStdin(data []byte) error {
	if p.stdin == nil {
		return nil
	}
	_, err := p.stdin.Write(data)
	return err
}

// CloseStdin ends the process's input; with a terminal it sends nothing,
// as closing the pty would hang up the process.
func (p *ExecProcess) CloseStdin() {
	if p.stdin != nil && p.proc.Console() == nil {
		_ = p.stdin.Close()
	}
}

// Resize sets the process's terminal size.
func (p *ExecProcess) Resize(w, h uint16) error {
	if p.proc.Console() == nil {
		return nil
	}
	return p.proc.Resize(w, h)
}

func closeAll(files []*os.File) {
	for _, f := range files {
		_ = f.Close()
	}
}

package dockerapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/opts"
)

// Exec sessions are kept this long after their process ended, for the
// client's inspect of the exit code.
const execKeep = 10 * time.Minute

// execSession is one exec docker created: its process once started.
type execSession struct {
	id          string
	containerID string
	cfg         container.ExecCreateRequest

	mu      sync.Mutex
	started bool
	running bool
	exit    *int
	ended   time.Time
	stream  agentStream
}

func (s *Server) execRoutes() {
	s.handle("POST /containers/{id}/exec", s.createExec)
	s.handle("POST /exec/{id}/start", s.startExec)
	s.handle("POST /exec/{id}/resize", s.resizeExec)
	s.handle("GET /exec/{id}/json", s.inspectExec)
}

func (s *Server) createExec(w http.ResponseWriter, r *http.Request) error {
	var req container.ExecCreateRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if len(req.Cmd) == 0 {
		return badRequest("no exec command specified")
	}
	if _, err := opts.AbsPath("workdir", req.WorkingDir); err != nil {
		return badRequest("%s", err.Error())
	}
	c, err := s.b.Client.Containers.Inspect(r.Context(), &apiv1.ContainerRef{Id: r.PathValue("id")})
	if err != nil {
		return err
	}
	if !c.GetState().GetRunning() {
		return conflict("container %s is not running", c.GetId())
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	e := &execSession{id: hex.EncodeToString(b[:]), containerID: c.GetId(), cfg: req}
	s.mu.Lock()
	for id, old := range s.execs {
		old.mu.Lock()
		stale := !old.ended.IsZero() && time.Since(old.ended) > execKeep
		old.mu.Unlock()
		if stale {
			delete(s.execs, id)
		}
	}
	s.execs[e.id] = e
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, container.ExecCreateResponse{ID: e.id})
	return nil
}

func (s *Server) exec(id string) (*execSession, error) {
	s.mu.Lock()
	e := s.execs[id]
	s.mu.Unlock()
	if e == nil {
		return nil, notFound("No such exec instance: %s", id)
	}
	return e, nil
}

func (s *Server) startExec(w http.ResponseWriter, r *http.Request) error {
	e, err := s.exec(r.PathValue("id"))
	if err != nil {
		return err
	}
	var req container.ExecStartRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	e.mu.Lock()
	if e.started {
		e.mu.Unlock()
		return conflict("exec %s has already been started", e.id)
	}
	e.started, e.running = true, true
	e.mu.Unlock()
	cfg := e.cfg
	tty := cfg.Tty || req.Tty
	start := &apiv1.ExecStart{
		ContainerId: e.containerID, Args: cfg.Cmd, Env: cfg.Env, WorkingDir: cfg.WorkingDir, User: cfg.User,
		Tty: tty, Stdin: cfg.AttachStdin && !req.Detach, Privileged: cfg.Privileged, Detach: req.Detach,
	}
	size := req.ConsoleSize
	if size == nil {
		size = cfg.ConsoleSize
	}
	if size != nil && tty && size[1] > 0 {
		start.Size = &apiv1.Resize{Height: uint32(size[0]), Width: uint32(size[1])}
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	st, err := s.b.Client.Containers.Exec(ctx)
	if err != nil {
		e.finish(nil)
		return err
	}
	if err := st.Send(&apiv1.StreamInput{Msg: &apiv1.StreamInput_Exec{Exec: start}}); err != nil {
		e.finish(nil)
		return err
	}
	if req.Detach {
		// The agent answers a detached exec at once; a failure to run
		// the process comes back as its error.
		msg, err := st.Recv()
		e.finish(nil)
		if err != nil {
			return err
		}
		if ex := msg.GetExit(); ex.GetError() != "" {
			return &statusError{code: http.StatusInternalServerError, msg: ex.GetError()}
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
	e.mu.Lock()
	e.stream = st
	e.mu.Unlock()
	h, err := hijack(w, r, tty)
	if err != nil {
		e.finish(nil)
		return err
	}
	defer h.conn.Close()
	if start.Stdin {
		go pumpStdin(h.in, st, nil)
	} else {
		go watchClient(ctx, h.conn, h.in, cancel)
	}
	exit, _ := pumpOutput(st, h.out, nil)
	if exit != nil && exit.GetError() != "" {
		// Docker prints why the process could not run on its output.
		_ = h.out.write(frameStderr, []byte(exit.GetError()+"\n"))
	}
	e.finish(exit)
	return nil
}

// finish records the end of the exec's process.
func (e *execSession) finish(exit *apiv1.Exit) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.running, e.ended, e.stream = false, time.Now(), nil
	if exit != nil && !exit.GetDetached() {
		code := int(exit.GetCode())
		if exit.GetError() != "" && code == 0 {
			code = 126
		}
		e.exit = &code
	}
}

func (s *Server) resizeExec(w http.ResponseWriter, r *http.Request) error {
	e, err := s.exec(r.PathValue("id"))
	if err != nil {
		return err
	}
	size, err := resizeParams(r)
	if err != nil {
		return err
	}
	e.mu.Lock()
	st := e.stream
	e.mu.Unlock()
	if st == nil {
		return conflict("exec %s is not running", e.id)
	}
	if err := st.Send(&apiv1.StreamInput{Msg: &apiv1.StreamInput_Resize{Resize: size}}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) inspectExec(w http.ResponseWriter, r *http.Request) error {
	e, err := s.exec(r.PathValue("id"))
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cfg := e.cfg
	pc := &container.ExecProcessConfig{Tty: cfg.Tty, Privileged: &cfg.Privileged, User: cfg.User}
	if len(cfg.Cmd) > 0 {
		pc.Entrypoint, pc.Arguments = cfg.Cmd[0], append([]string{}, cfg.Cmd[1:]...)
	}
	writeJSON(w, http.StatusOK, container.ExecInspectResponse{
		ID: e.id, Running: e.running, ExitCode: e.exit, ProcessConfig: pc,
		OpenStdin: cfg.AttachStdin, OpenStdout: cfg.AttachStdout, OpenStderr: cfg.AttachStderr,
		ContainerID: e.containerID, CanRemove: !e.running && e.started,
	})
	return nil
}

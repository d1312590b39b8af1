package dockerapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/moby/moby/api/types/container"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/containers"
	"github.com/skiffrun/skiff/host/format"
)

// waitStart returns a channel closed once the container id is started
// through this server (or stop, when the caller gives up).
func (s *Server) waitStart(id string) (ready <-chan struct{}, stop func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.attaching[id] = append(s.attaching[id], ch)
	s.mu.Unlock()
	var once bool
	return ch, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if once {
			return
		}
		once = true
		list := s.attaching[id]
		for i, c := range list {
			if c == ch {
				s.attaching[id] = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(s.attaching[id]) == 0 {
			delete(s.attaching, id)
		}
	}
}

// started releases the attach streams waiting for id's start.
func (s *Server) started(id string) {
	s.mu.Lock()
	list := s.attaching[id]
	delete(s.attaching, id)
	s.mu.Unlock()
	for _, ch := range list {
		close(ch)
	}
}

// liveStream records an attach stream, for resize.
func (s *Server) liveStream(id string, st agentStream) func() {
	s.mu.Lock()
	if s.streams == nil {
		s.streams = map[string][]agentStream{}
	}
	s.streams[id] = append(s.streams[id], st)
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		list := s.streams[id]
		for i, x := range list {
			if x == st {
				s.streams[id] = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(s.streams[id]) == 0 {
			delete(s.streams, id)
		}
	}
}

func (s *Server) attachContainer(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	c, err := s.b.Client.Containers.Inspect(r.Context(), &apiv1.ContainerRef{Id: r.PathValue("id")})
	if err != nil {
		return err
	}
	id, tty := c.GetId(), c.GetConfig().GetTty()
	stdin := boolParam(q.Get("stdin")) && c.GetConfig().GetOpenStdin()
	start := &apiv1.AttachStart{
		Id: id, Stdin: stdin, Stdout: boolParam(q.Get("stdout")), Stderr: boolParam(q.Get("stderr")),
		Logs: boolParam(q.Get("logs")),
	}
	if !boolParam(q.Get("stream")) {
		return s.attachLogs(w, r, c, start)
	}
	var ready <-chan struct{}
	if !c.GetState().GetRunning() {
		var stop func()
		ready, stop = s.waitStart(id)
		defer stop()
		start.NextRun = true
	}
	// The hijacked connection outlives net/http's view of the request;
	// ending the agent stream is this handler's.
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	st, err := s.b.Client.Containers.Attach(ctx)
	if err != nil {
		return err
	}
	if err := st.Send(&apiv1.StreamInput{Msg: &apiv1.StreamInput_Attach{Attach: start}}); err != nil {
		return err
	}
	defer s.liveStream(id, st)()
	h, err := hijack(w, r, tty)
	if err != nil {
		return err
	}
	defer h.conn.Close()
	if stdin {
		go pumpStdin(h.in, st, ready)
	} else {
		go watchClient(ctx, h.conn, h.in, cancel)
	}
	_, _ = pumpOutput(st, h.out, nil)
	return nil
}

// attachLogs answers an attach without stream: what the container wrote,
// then the end.
func (s *Server) attachLogs(w http.ResponseWriter, r *http.Request, c *apiv1.Container, start *apiv1.AttachStart) error {
	h, err := hijack(w, r, c.GetConfig().GetTty())
	if err != nil {
		return err
	}
	defer h.conn.Close()
	if !start.Logs {
		return nil
	}
	st, err := s.b.Client.Containers.Logs(r.Context(), &apiv1.LogsRequest{Id: c.GetId(), Tail: -1, Stdout: start.Stdout, Stderr: start.Stderr})
	if err != nil {
		return nil
	}
	for {
		e, err := st.Recv()
		if err != nil {
			return nil
		}
		if err := h.out.output(&apiv1.Output{Stream: e.GetStream(), Data: e.GetData()}); err != nil {
			return nil
		}
	}
}

func (s *Server) resizeContainer(w http.ResponseWriter, r *http.Request) error {
	size, err := resizeParams(r)
	if err != nil {
		return err
	}
	c, err := s.b.Client.Containers.Inspect(r.Context(), &apiv1.ContainerRef{Id: r.PathValue("id")})
	if err != nil {
		return err
	}
	if !c.GetState().GetRunning() {
		return conflict("cannot resize container %s: it is not running", c.GetId())
	}
	msg := &apiv1.StreamInput{Msg: &apiv1.StreamInput_Resize{Resize: size}}
	s.mu.Lock()
	live := append([]agentStream(nil), s.streams[c.GetId()]...)
	s.mu.Unlock()
	if len(live) > 0 {
		_ = live[0].Send(msg)
		w.WriteHeader(http.StatusOK)
		return nil
	}
	// No client is attached through this server: a brief attach carries
	// the new size.
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	st, err := s.b.Client.Containers.Attach(ctx)
	if err != nil {
		return err
	}
	if err := st.Send(&apiv1.StreamInput{Msg: &apiv1.StreamInput_Attach{Attach: &apiv1.AttachStart{Id: c.GetId(), Size: size}}}); err != nil {
		return err
	}
	if err := st.Send(msg); err != nil {
		return err
	}
	_ = st.Send(&apiv1.StreamInput{Msg: &apiv1.StreamInput_Detach{Detach: true}})
	for {
		if _, err := st.Recv(); err != nil {
			break
		}
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func resizeParams(r *http.Request) (*apiv1.Resize, error) {
	q := r.URL.Query()
	hgt, err1 := strconv.ParseUint(q.Get("h"), 10, 16)
	wid, err2 := strconv.ParseUint(q.Get("w"), 10, 16)
	if err1 != nil || err2 != nil {
		return nil, badRequest("invalid size h=%q w=%q: give whole numbers of rows and columns", q.Get("h"), q.Get("w"))
	}
	return &apiv1.Resize{Width: uint32(wid), Height: uint32(hgt)}, nil
}

func (s *Server) containerLogs(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	c, err := s.b.Client.Containers.Inspect(r.Context(), &apiv1.ContainerRef{Id: r.PathValue("id")})
	if err != nil {
		return err
	}
	stdout, stderr := boolParam(q.Get("stdout")), boolParam(q.Get("stderr"))
	if !stdout && !stderr {
		return badRequest("you must choose at least one stream: stdout=1 or stderr=1")
	}
	o := containers.LogsOptions{Container: c.GetId(), Follow: boolParam(q.Get("follow")), Tail: q.Get("tail"), Since: unixParam(q.Get("since")), Until: unixParam(q.Get("until"))}
	req, err := o.Request(time.Now())
	if err != nil {
		return badRequest("%s", err.Error())
	}
	req.Stdout, req.Stderr = stdout, stderr
	st, err := s.b.Client.Containers.Logs(r.Context(), req)
	if err != nil {
		return err
	}
	tty := c.GetConfig().GetTty()
	ct := multiplexedStream
	if tty || compareVersions(apiVersion(r.Context()), "1.42") < 0 {
		ct = rawStream
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush()
	}
	out := &frameWriter{w: w, raw: tty}
	timestamps := boolParam(q.Get("timestamps"))
	for {
		e, err := st.Recv()
		if err != nil {
			return nil
		}
		data := e.GetData()
		if timestamps {
			data = append([]byte(format.Time(e.GetTime()).UTC().Format(time.RFC3339Nano)+" "), data...)
		}
		if err := out.output(&apiv1.Output{Stream: e.GetStream(), Data: data}); err != nil {
			return nil
		}
		if fl != nil {
			fl.Flush()
		}
	}
}

// unixParam turns docker's since/until (seconds, maybe with a fraction)
// into what skiff logs --since takes: the same number, or "" for 0.
func unixParam(v string) string {
	if v == "" || v == "0" {
		return ""
	}
	return v
}

// waitContainer answers POST /containers/{id}/wait as docker does: from
// API 1.30 with the condition asked for and the headers sent once the
// wait holds (the docker CLI starts the container only then), the exit
// after; before 1.30 not-running, all at the end.
func (s *Server) waitContainer(w http.ResponseWriter, r *http.Request) error {
	legacy := compareVersions(apiVersion(r.Context()), "1.30") < 0
	cond := ""
	if !legacy {
		cond = r.URL.Query().Get("condition")
		switch cond {
		case "", "not-running", "next-exit", "removed":
		default:
			return badRequest("invalid condition: %q", cond)
		}
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	st, err := s.b.Client.Waiter.Wait(ctx, &apiv1.WaitRequest{Id: r.PathValue("id"), Condition: cond})
	if err != nil {
		return err
	}
	// The first answer is armed, or why the wait cannot be (no such
	// container), which still has its own status.
	if _, err := st.Recv(); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	if !legacy {
		w.WriteHeader(http.StatusOK)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	var out container.WaitResponse
	for {
		ev, err := st.Recv()
		if err != nil {
			if errors.Is(err, context.Canceled) || r.Context().Err() != nil {
				return nil
			}
			if legacy {
				return err
			}
			out.Error = &container.WaitExitError{Message: err.Error()}
			break
		}
		if res := ev.GetResult(); res != nil {
			out.StatusCode = int64(res.GetExitCode())
			if msg := res.GetError(); msg != "" {
				out.Error = &container.WaitExitError{Message: msg}
			}
			break
		}
	}
	return jsonLine(w, out)
}

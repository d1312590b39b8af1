package dockerapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/container"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/containers"
)

func (s *Server) containerRoutes() {
	s.handle("POST /containers/create", s.createContainer)
	s.handle("GET /containers/json", s.listContainers)
	s.handle("GET /containers/{id}/json", s.inspectContainer)
	s.handle("POST /containers/{id}/start", s.startContainer)
	s.handle("POST /containers/{id}/stop", s.stopContainer)
	s.handle("POST /containers/{id}/restart", s.stopContainer)
	s.handle("POST /containers/{id}/kill", s.killContainer)
	s.handle("POST /containers/{id}/wait", s.waitContainer)
	s.handle("DELETE /containers/{id}", s.removeContainer)
	s.handle("POST /containers/{id}/rename", s.renameContainer)
	s.handle("GET /containers/{id}/top", s.topContainer)
	s.handle("GET /containers/{id}/logs", s.containerLogs)
	s.handle("POST /containers/{id}/attach", s.attachContainer)
	s.handle("POST /containers/{id}/resize", s.resizeContainer)
	s.handle("POST /containers/prune", s.pruneContainers)
}

func (s *Server) listContainers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, err := parseFilters(q.Get("filters"))
	if err != nil {
		return err
	}
	req := &apiv1.ListContainersRequest{All: boolParam(q.Get("all")), Filters: agentFilters(f)}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil {
			return badRequest("invalid limit %q: use a whole number", l)
		}
		if n > 0 {
			req.Limit, req.All = int32(n), true
		}
	}
	resp, err := s.b.Client.Containers.List(r.Context(), req)
	if err != nil {
		return err
	}
	now := time.Now()
	out := make([]containerSummary, 0, len(resp.GetContainers()))
	for _, c := range resp.GetContainers() {
		out = append(out, newSummary(c, now))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// containerSummary is one entry of docker's container list.
type containerSummary struct {
	ID              string `json:"Id"`
	Names           []string
	Image           string
	ImageID         string
	Command         string
	Created         int64
	Ports           []portSummary
	Labels          map[string]string
	State           string
	Status          string
	HostConfig      struct{ NetworkMode string }
	NetworkSettings struct {
		Networks map[string]endpointSummary
	}
	Mounts []containers.InspectMount
}

type portSummary struct {
	IP          string `json:"IP,omitempty"`
	PrivatePort uint16
	PublicPort  uint16 `json:",omitempty"`
	Type        string
}

type endpointSummary struct {
	Aliases     []string
	NetworkID   string
	Gateway     string
	IPAddress   string
	IPPrefixLen int
	MacAddress  string
}

func newSummary(c *apiv1.Container, now time.Time) containerSummary {
	in := containers.NewInspect(c)
	cmd := strings.TrimSpace(strings.Join(append([]string{c.GetPath()}, c.GetArgs()...), " "))
	s := containerSummary{
		ID:      c.GetId(),
		Names:   []string{"/" + strings.TrimPrefix(c.GetName(), "/")},
		Image:   c.GetImage(),
		ImageID: c.GetImageId(),
		Command: cmd,
		Created: time.Unix(0, c.GetCreated()).Unix(),
		Ports:   []portSummary{},
		Labels:  c.GetConfig().GetLabels(),
		State:   c.GetState().GetStatus(),
		Status:  containers.StatusText(c.GetState(), now),
		Mounts:  in.Mounts,
	}
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	s.HostConfig.NetworkMode = orDefault(c.GetHostConfig().GetNetworkMode(), "bridge")
	s.NetworkSettings.Networks = map[string]endpointSummary{}
	for name, ep := range in.NetworkSettings.Networks {
		s.NetworkSettings.Networks[name] = endpointSummary(ep)
	}
	bound := map[string]bool{}
	for _, b := range c.GetNetworkSettings().GetPorts() {
		bound[fmt.Sprintf("%d/%s", b.GetContainerPort(), b.GetProtocol())] = true
		s.Ports = append(s.Ports, portSummary{IP: b.GetHostIp(), PrivatePort: uint16(b.GetContainerPort()), PublicPort: uint16(b.GetHostPort()), Type: b.GetProtocol()})
	}
	for _, p := range c.GetConfig().GetExposedPorts() {
		if bound[p] {
			continue
		}
		num, proto, _ := strings.Cut(p, "/")
		n, err := strconv.ParseUint(num, 10, 16)
		if err == nil {
			s.Ports = append(s.Ports, portSummary{PrivatePort: uint16(n), Type: orDefault(proto, "tcp")})
		}
	}
	return s
}

func (s *Server) inspectContainer(w http.ResponseWriter, r *http.Request) error {
	c, err := s.b.Client.Containers.Inspect(r.Context(), &apiv1.ContainerRef{Id: r.PathValue("id")})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, containers.NewInspect(c))
	return nil
}

func (s *Server) startContainer(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	c, err := s.b.Client.Containers.Inspect(r.Context(), &apiv1.ContainerRef{Id: id})
	if err != nil {
		return err
	}
	if c.GetState().GetRunning() {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	if _, err := s.b.Client.Containers.Start(r.Context(), &apiv1.ContainerRef{Id: c.GetId()}); err != nil {
		return err
	}
	s.started(c.GetId())
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// stopRequest reads stop's and restart's t (or timeout) and signal.
func stopRequest(r *http.Request) (*apiv1.StopRequest, error) {
	q := r.URL.Query()
	req := &apiv1.StopRequest{Id: r.PathValue("id"), Signal: q.Get("signal")}
	t := q.Get("t")
	if t == "" {
		t = q.Get("timeout")
	}
	if t != "" {
		n, err := strconv.Atoi(t)
		if err != nil {
			return nil, badRequest("invalid timeout %q: use a whole number of seconds", t)
		}
		req.Timeout, req.TimeoutSet = int32(n), true
	}
	return req, nil
}

func (s *Server) stopContainer(w http.ResponseWriter, r *http.Request) error {
	req, err := stopRequest(r)
	if err != nil {
		return err
	}
	if strings.HasSuffix(r.URL.Path, "/restart") {
		if _, err := s.b.Client.Containers.Restart(r.Context(), req); err != nil {
			return err
		}
		s.started(req.Id)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	c, err := s.b.Client.Containers.Inspect(r.Context(), &apiv1.ContainerRef{Id: req.Id})
	if err != nil {
		return err
	}
	if !c.GetState().GetRunning() && !c.GetState().GetRestarting() {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	if _, err := s.b.Client.Containers.Stop(r.Context(), req); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) killContainer(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	c, err := s.b.Client.Containers.Inspect(r.Context(), &apiv1.ContainerRef{Id: id})
	if err != nil {
		return err
	}
	if !c.GetState().GetRunning() {
		return conflict("Cannot kill container: %s: container %s is not running", id, c.GetId())
	}
	sig := r.URL.Query().Get("signal")
	if _, err := s.b.Client.Containers.Kill(r.Context(), &apiv1.KillRequest{Id: id, Signal: sig}); err != nil {
		return err
	}
	if isKill(sig) {
		// As docker does, a SIGKILL returns once the container is down,
		// so the client's next look (compose kill, then ps) sees it
		// exited. A container that outlives the wait is still reported
		// killed: the signal was sent.
		ctx, cancel := context.WithTimeout(r.Context(), killWait)
		_, _ = s.b.Client.Containers.Wait(ctx, &apiv1.WaitRequest{Id: c.GetId(), Condition: "not-running"})
		cancel()
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// killWait bounds how long a SIGKILL waits for its container to exit.
const killWait = 10 * time.Second

// isKill reports whether a kill request's signal is SIGKILL, docker's
// default.
func isKill(sig string) bool {
	switch strings.TrimPrefix(strings.ToUpper(sig), "SIG") {
	case "", "KILL", "9":
		return true
	}
	return false
}

func (s *Server) removeContainer(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if boolParam(q.Get("link")) {
		return badRequest("skiff has no container links to remove")
	}
	req := &apiv1.RemoveRequest{Id: r.PathValue("id"), Force: boolParam(q.Get("force")), Volumes: boolParam(q.Get("v"))}
	if _, err := s.b.Client.Containers.Remove(r.Context(), req); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) renameContainer(w http.ResponseWriter, r *http.Request) error {
	name := r.URL.Query().Get("name")
	if name == "" {
		return badRequest("a new name is required: rename?name=NAME")
	}
	if _, err := s.b.Client.Containers.Rename(r.Context(), &apiv1.RenameRequest{Id: r.PathValue("id"), NewName: name}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) topContainer(w http.ResponseWriter, r *http.Request) error {
	var args []string
	if a := r.URL.Query().Get("ps_args"); a != "" {
		args = strings.Fields(a)
	}
	resp, err := s.b.Client.Containers.Top(r.Context(), &apiv1.TopRequest{Id: r.PathValue("id"), PsArgs: args})
	if err != nil {
		return err
	}
	out := container.TopResponse{Titles: resp.GetTitles(), Processes: [][]string{}}
	for _, p := range resp.GetProcesses() {
		out.Processes = append(out.Processes, p.GetFields())
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) pruneContainers(w http.ResponseWriter, r *http.Request) error {
	f, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	resp, err := s.b.Client.Containers.Prune(r.Context(), &apiv1.PruneRequest{Filters: agentFilters(f)})
	if err != nil {
		return err
	}
	deleted := resp.GetDeleted()
	if deleted == nil {
		deleted = []string{}
	}
	writeJSON(w, http.StatusOK, container.PruneReport{ContainersDeleted: deleted, SpaceReclaimed: resp.GetSpaceReclaimed()})
	return nil
}

// boolParam reads docker's boolean query values: "1", "true", "True".
func boolParam(v string) bool {
	switch strings.ToLower(v) {
	case "", "0", "false", "no":
		return false
	}
	return true
}

// familiarTagged is ref as docker names it in messages: "busybox:latest".
func familiarTagged(ref string) string {
	n, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.FamiliarString(reference.TagNameOnly(n))
}

package dockerapi

import (
	"net/http"
	"sort"
	"strings"

	"github.com/moby/moby/api/types/container"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"

	"github.com/skiffrun/skiff/host/containers"
)

// commitResponse is docker's answer to POST /commit.
type commitResponse struct {
	ID string `json:"Id"`
}

// commit answers POST /commit: the container's changes as an image
// named repo:tag, its config the container's with the body's config
// (Cmd, Env, Labels, ExposedPorts, …) merged over it as docker merges
// them, then the changes.
func (s *Server) commit(w http.ResponseWriter, r *http.Request) error {
	var body *container.Config
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	cfg, err := commitConfig(body)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	o := containers.CommitOptions{
		Container: q.Get("container"),
		Message:   q.Get("comment"),
		Author:    q.Get("author"),
		Pause:     true,
		Config:    cfg,
	}
	if o.Container == "" {
		return badRequest("commit needs a container: give ?container=NAME")
	}
	if p := q.Get("pause"); p != "" {
		o.Pause = p == "1" || strings.EqualFold(p, "true")
	}
	// The docker CLI sends every --change in one value, a line each.
	for _, c := range q["changes"] {
		for _, line := range strings.Split(c, "\n") {
			if line = strings.TrimSpace(line); line != "" {
				o.Changes = append(o.Changes, line)
			}
		}
	}
	if repo := q.Get("repo"); repo != "" {
		o.Reference = repo
		if tag := q.Get("tag"); tag != "" {
			o.Reference += ":" + tag
		}
	}
	id, err := containers.Commit(r.Context(), s.b.Client, o)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, commitResponse{ID: id})
	return nil
}

// commitConfig is a commit body's config in the agent's terms; nil when
// the body has none.
func commitConfig(b *container.Config) (*apiv1.ImageConfig, error) {
	if b == nil {
		return nil, nil
	}
	hc, err := healthConfig(b.Healthcheck)
	if err != nil {
		return nil, err
	}
	cfg := &apiv1.ImageConfig{
		Entrypoint:  b.Entrypoint,
		Cmd:         b.Cmd,
		WorkingDir:  b.WorkingDir,
		User:        b.User,
		Volumes:     sortedKeys(b.Volumes),
		StopSignal:  b.StopSignal,
		Labels:      b.Labels,
		Healthcheck: hc,
	}
	for _, e := range b.Env {
		if strings.Contains(e, "=") {
			cfg.Env = append(cfg.Env, e)
		}
	}
	for p := range b.ExposedPorts {
		cfg.ExposedPorts = append(cfg.ExposedPorts, p.String())
	}
	sort.Strings(cfg.ExposedPorts)
	return cfg, nil
}

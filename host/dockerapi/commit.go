package dockerapi

import (
	"net/http"
	"strings"

	"github.com/skiffrun/skiff/host/containers"
)

// commitResponse is docker's answer to POST /commit.
type commitResponse struct {
	ID string `json:"Id"`
}

// commit answers POST /commit: the container's changes as an image
// named repo:tag. A config in the body is not read; skiff takes the
// container's own, with the changes given.
func (s *Server) commit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	o := containers.CommitOptions{
		Container: q.Get("container"),
		Message:   q.Get("comment"),
		Author:    q.Get("author"),
		Pause:     true,
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

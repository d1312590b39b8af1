package dockerapi

import (
	"errors"
	"io"
	"net/http"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/containers"
)

// containerChange is one entry of docker's GET /containers/{id}/changes.
type containerChange struct {
	Path string
	Kind int32
}

func (s *Server) containerChanges(w http.ResponseWriter, r *http.Request) error {
	changes, err := containers.Changes(r.Context(), s.b.Client, r.PathValue("id"))
	if err != nil {
		return err
	}
	out := make([]containerChange, 0, len(changes))
	for _, c := range changes {
		out = append(out, containerChange{Path: c.GetPath(), Kind: c.GetKind()})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// exportContainer streams the container's root as a tar. Once the tar
// has begun, a failure can only cut it short.
func (s *Server) exportContainer(w http.ResponseWriter, r *http.Request) error {
	st, err := s.b.Client.Exporter.Export(r.Context(), &apiv1.ContainerRef{Id: r.PathValue("id")})
	if err != nil {
		return err
	}
	first, err := st.Recv()
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	w.Header().Set("Content-Type", "application/x-tar")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(first.GetData()); err != nil {
		return nil
	}
	for {
		m, err := st.Recv()
		if err != nil {
			return nil
		}
		if _, err := w.Write(m.GetData()); err != nil {
			return nil
		}
	}
}

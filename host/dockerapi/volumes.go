package dockerapi

import (
	"net/http"

	"github.com/moby/moby/api/types/volume"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/opts"
	"github.com/skiffrun/skiff/host/volumes"
)

func (s *Server) volumeRoutes() {
	s.handle("GET /volumes", s.listVolumes)
	s.handle("POST /volumes/create", s.createVolume)
	s.handle("GET /volumes/{name}", s.inspectVolume)
	s.handle("DELETE /volumes/{name}", s.removeVolume)
	s.handle("POST /volumes/prune", s.pruneVolumes)
}

func (s *Server) createVolume(w http.ResponseWriter, r *http.Request) error {
	var req volume.CreateRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Name != "" {
		if err := opts.VolumeName("name", req.Name); err != nil {
			return badRequest("%s", err.Error())
		}
	}
	v, err := s.b.Client.Volumes.Create(r.Context(), &apiv1.CreateVolumeRequest{Name: req.Name, Driver: req.Driver, Labels: req.Labels, Options: req.DriverOpts})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, volumes.NewInspect(v))
	return nil
}

func (s *Server) listVolumes(w http.ResponseWriter, r *http.Request) error {
	f, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	resp, err := s.b.Client.Volumes.List(r.Context(), &apiv1.ListVolumesRequest{Filters: agentFilters(f)})
	if err != nil {
		return err
	}
	out := struct {
		Volumes  []volumes.Inspect
		Warnings []string
	}{Volumes: []volumes.Inspect{}, Warnings: []string{}}
	for _, v := range resp.GetVolumes() {
		out.Volumes = append(out.Volumes, volumes.NewInspect(v))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) inspectVolume(w http.ResponseWriter, r *http.Request) error {
	v, err := s.b.Client.Volumes.Inspect(r.Context(), &apiv1.VolumeRef{Name: r.PathValue("name")})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, volumes.NewInspect(v))
	return nil
}

func (s *Server) removeVolume(w http.ResponseWriter, r *http.Request) error {
	req := &apiv1.RemoveVolumeRequest{Name: r.PathValue("name"), Force: boolParam(r.URL.Query().Get("force"))}
	if _, err := s.b.Client.Volumes.Remove(r.Context(), req); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) pruneVolumes(w http.ResponseWriter, r *http.Request) error {
	f, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	// The agent, like docker, takes only anonymous volumes without all=true.
	resp, err := s.b.Client.Volumes.Prune(r.Context(), &apiv1.PruneVolumesRequest{Filters: agentFilters(f)})
	if err != nil {
		return err
	}
	deleted := resp.GetDeleted()
	if deleted == nil {
		deleted = []string{}
	}
	writeJSON(w, http.StatusOK, volume.PruneReport{VolumesDeleted: deleted, SpaceReclaimed: resp.GetSpaceReclaimed()})
	return nil
}

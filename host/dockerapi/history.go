package dockerapi

import (
	"net/http"

	"github.com/moby/moby/api/types/image"

	"github.com/skiffrun/skiff/host/images"
)

// imageHistory answers GET /images/{name}/history: the config's history
// entries, the newest first, with Unix-second times as docker has them.
func (s *Server) imageHistory(w http.ResponseWriter, r *http.Request, name string) error {
	entries, err := images.History(r.Context(), s.b.Client, name)
	if err != nil {
		return imageError(err, name)
	}
	out := make([]image.HistoryResponseItem, 0, len(entries))
	for _, e := range entries {
		out = append(out, image.HistoryResponseItem{
			ID:        e.GetId(),
			Created:   e.GetCreated() / 1e9,
			CreatedBy: e.GetCreatedBy(),
			Tags:      e.GetTags(),
			Size:      e.GetSize(),
			Comment:   e.GetComment(),
		})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

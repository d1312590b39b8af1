package dockerapi

import (
	"net/http"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/containers"
)

// updateBody is the part of docker's update body skiff applies: a zero
// value leaves a setting as it is, as in docker.
type updateBody struct {
	Memory            int64
	MemorySwap        int64
	MemoryReservation int64
	NanoCpus          int64 `json:"NanoCpus"`
	CpuShares         int64 //nolint:revive // docker's JSON name
	CpusetCpus        string
	PidsLimit         *int64
	RestartPolicy     struct {
		Name              string
		MaximumRetryCount int32
	}
}

// updateResponse is docker's answer to an update.
type updateResponse struct {
	Warnings []string
}

func (s *Server) updateContainer(w http.ResponseWriter, r *http.Request) error {
	var b updateBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	req := &apiv1.UpdateRequest{Id: r.PathValue("id")}
	nonZero := func(v int64) *int64 {
		if v == 0 {
			return nil
		}
		return &v
	}
	req.Memory, req.MemorySwap, req.MemoryReservation = nonZero(b.Memory), nonZero(b.MemorySwap), nonZero(b.MemoryReservation)
	req.NanoCpus, req.CpuShares = nonZero(b.NanoCpus), nonZero(b.CpuShares)
	if b.CpusetCpus != "" {
		req.CpusetCpus = &b.CpusetCpus
	}
	if b.PidsLimit != nil {
		limit := *b.PidsLimit
		if limit <= 0 {
			// Docker's API spells unlimited as 0 or -1.
			limit = -1
		}
		req.PidsLimit = &limit
	}
	if b.RestartPolicy.Name != "" {
		req.RestartPolicy = &apiv1.RestartPolicy{Name: b.RestartPolicy.Name, MaximumRetryCount: b.RestartPolicy.MaximumRetryCount}
	}
	warnings, err := containers.UpdateOne(r.Context(), s.b.Client, req)
	if err != nil {
		return err
	}
	if warnings == nil {
		warnings = []string{}
	}
	writeJSON(w, http.StatusOK, updateResponse{Warnings: warnings})
	return nil
}

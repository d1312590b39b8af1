package dockerapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/containerd/errdefs"
)

// statusError is an error with the HTTP status docker answers it with.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return e.msg }

// statusOf maps an error to docker's status: the agent's categories
// (which host/agentclient turned back into errdefs ones) decide, since
// clients branch on 404 and 409.
func statusOf(err error) int {
	var se *statusError
	switch {
	case errors.As(err, &se):
		return se.code
	case errdefs.IsNotFound(err):
		return http.StatusNotFound
	case errdefs.IsAlreadyExists(err), errdefs.IsConflict(err), errdefs.IsFailedPrecondition(err):
		return http.StatusConflict
	case errdefs.IsInvalidArgument(err):
		return http.StatusBadRequest
	case errdefs.IsPermissionDenied(err):
		return http.StatusForbidden
	case errdefs.IsNotImplemented(err):
		return http.StatusNotImplemented
	case errdefs.IsUnavailable(err):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this.
		return 499
	}
	return http.StatusInternalServerError
}

// errorBody is docker's error response.
type errorBody struct {
	Message string `json:"message"`
}

// writeError answers err as docker does: {"message": ...} with its status.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := statusOf(err)
	if r.Method == http.MethodHead {
		w.WriteHeader(code)
		return
	}
	writeJSON(w, code, errorBody{Message: err.Error()})
}

// writeJSON writes v as the JSON response with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeBody reads a JSON request body into v; an empty body leaves v
// alone, malformed JSON is docker's 400.
func decodeBody(r *http.Request, v any) error {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxJSONBody))
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return badRequest("malformed JSON in the request body: %s", err.Error())
	}
	return nil
}

// maxJSONBody bounds a JSON request body; create bodies are a few KiB.
const maxJSONBody = 8 << 20

package dockerapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/events"
)

// streamEvents is GET /events: the agent's events in docker's shape, one
// JSON object per line, each flushed at once.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, err := parseFilters(q.Get("filters"))
	if err != nil {
		return err
	}
	req := &apiv1.EventsRequest{Filters: agentFilters(f)}
	if req.Since, err = eventTime("since", q.Get("since")); err != nil {
		return err
	}
	if req.Until, err = eventTime("until", q.Get("until")); err != nil {
		return err
	}
	if req.Until > 0 && req.Since == 0 {
		req.Since = 1
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
	return ignore(events.Stream(r.Context(), s.b.Client, req, func(ev *apiv1.Event) error {
		return jsonLine(w, events.NewMessage(ev))
	}))
}

// eventTime reads docker's since/until: Unix seconds, maybe with a
// fraction ("1733328000.123456789").
func eventTime(name, v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	secs, frac, _ := strings.Cut(v, ".")
	n, err := strconv.ParseInt(secs, 10, 64)
	if err != nil {
		return 0, badRequest("invalid %s %q: give Unix seconds", name, v)
	}
	ns := n * int64(time.Second)
	if frac != "" {
		frac = (frac + "000000000")[:9]
		f, err := strconv.ParseInt(frac, 10, 64)
		if err != nil {
			return 0, badRequest("invalid %s %q: give Unix seconds", name, v)
		}
		ns += f
	}
	return ns, nil
}

func (s *Server) pauseContainer(w http.ResponseWriter, r *http.Request) error {
	ref := &apiv1.ContainerRef{Id: r.PathValue("id")}
	var err error
	if strings.HasSuffix(r.URL.Path, "/unpause") {
		_, err = s.b.Client.Freezer.Unpause(r.Context(), ref)
	} else {
		_, err = s.b.Client.Freezer.Pause(r.Context(), ref)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

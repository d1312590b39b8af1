// Package dockerapi serves the Docker Engine API on a machine's docker
// socket: a second front door beside the skiff CLI. Each handler turns a
// docker request into the same host/ functions and agent calls the CLI
// makes, so docker, docker compose and other Engine API clients get
// skiff's defaults, bind-path translation and errors. Where to listen and
// for how long is the caller's (the host daemon for VM drivers, a detached
// process for the native one); the agent does the work.
package dockerapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/host/containers"
	"github.com/skiffrun/skiff/host/images"
	"github.com/skiffrun/skiff/host/registry"
)

// The API versions served: clients newer than MaxAPIVersion negotiate
// down to it (the docker CLI does so from /_ping's Api-Version header).
const (
	MaxAPIVersion = "1.44"
	MinAPIVersion = "1.24"
)

// Backend is what the server needs to carry out requests.
type Backend struct {
	// Client is the machine's agent.
	Client *agentclient.Client
	// AgentPath translates a bind's host path into the machine's, as
	// skiff run -v does; nil keeps host paths (the native driver).
	AgentPath containers.AgentPath
	// Registry resolves credentials for a pull or push that brings no
	// X-Registry-Auth of its own; nil sends none.
	Registry images.RegistryResolver
	// Settings are skiff's registry settings, for /auth; nil is none.
	Settings func() (*registry.Settings, error)
	// Version is skiff's version, for /version and the Server header.
	Version string
	// Machine and Driver name the machine, for /info.
	Machine, Driver string
}

// Server is the Docker API's HTTP handler. It keeps the exec sessions
// docker creates before it starts them; everything else lives in the
// agent.
type Server struct {
	b   Backend
	mux *http.ServeMux

	mu    sync.Mutex
	execs map[string]*execSession
	// attaching counts, per container, the attach streams waiting for the
	// container's next start.
	attaching map[string][]chan struct{}
	// streams are the live attach streams per container, for resize.
	streams map[string][]agentStream
}

// New returns a server over b.
func New(b Backend) *Server {
	s := &Server{b: b, mux: http.NewServeMux(), execs: map[string]*execSession{}, attaching: map[string][]chan struct{}{}}
	s.routes()
	return s
}

type versionKey struct{}

// apiVersion returns the API version the request asked for (the served
// maximum when its path had no /vX.Y prefix).
func apiVersion(ctx context.Context) string {
	if v, ok := ctx.Value(versionKey{}).(string); ok {
		return v
	}
	return MaxAPIVersion
}

// ServeHTTP strips an optional /vX.Y prefix, refuses versions outside
// those served with docker's messages, sets the headers every docker
// response carries, and routes the request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Api-Version", MaxAPIVersion)
	h.Set("Docker-Experimental", "false")
	h.Set("Ostype", "linux")
	h.Set("Server", "skiff/"+s.b.Version)
	version := MaxAPIVersion
	if rest, ok := strings.CutPrefix(r.URL.Path, "/v"); ok {
		if i := strings.IndexByte(rest, '/'); i > 0 && isVersion(rest[:i]) {
			version = rest[:i]
			r.URL.Path = rest[i:]
			r.URL.RawPath = ""
		}
	}
	switch {
	case compareVersions(version, MaxAPIVersion) > 0:
		writeError(w, r, badRequest("client version %s is too new. Maximum supported API version is %s", version, MaxAPIVersion))
		return
	case compareVersions(version, MinAPIVersion) < 0:
		writeError(w, r, badRequest("client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version", version, MinAPIVersion))
		return
	}
	s.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), versionKey{}, version)))
}

// isVersion reports whether v reads as "1.44".
func isVersion(v string) bool {
	major, minor, ok := strings.Cut(v, ".")
	if !ok {
		return false
	}
	_, err1 := strconv.Atoi(major)
	_, err2 := strconv.Atoi(minor)
	return err1 == nil && err2 == nil
}

// compareVersions compares two "X.Y" versions numerically.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// handler is an endpoint: a non-nil error becomes docker's JSON error
// unless the handler has already written a response.
type handler func(w http.ResponseWriter, r *http.Request) error

func (s *Server) handle(pattern string, h handler) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeError(w, r, err)
		}
	})
}

func (s *Server) routes() {
	s.handle("GET /_ping", s.ping)
	s.handle("HEAD /_ping", s.ping)
	s.handle("GET /version", s.version)
	s.handle("GET /info", s.info)
	s.handle("POST /auth", s.auth)
	s.containerRoutes()
	s.execRoutes()
	s.imageRoutes()
	s.volumeRoutes()
	s.networkRoutes()
	s.handle("POST /build", s.build)
	s.handle("GET /events", s.streamEvents)
	s.handle("GET /containers/{id}/stats", s.containerStats)
	s.archiveRoutes()
	s.handle("POST /containers/{id}/pause", s.pauseContainer)
	s.handle("POST /containers/{id}/unpause", s.pauseContainer)
	s.handle("POST /commit", s.commit)
	s.handle("GET /containers/{id}/changes", s.containerChanges)
	s.handle("GET /containers/{id}/export", s.exportContainer)
	s.handle("POST /containers/{id}/update", s.updateContainer)
	s.handle("GET /system/df", s.systemDF)
	s.handle("POST /session", func(http.ResponseWriter, *http.Request) error {
		return notFound("skiff has no BuildKit session endpoint; use the classic builder (DOCKER_BUILDKIT=0)")
	})
	s.handle("POST /grpc", func(http.ResponseWriter, *http.Request) error {
		return notFound("skiff has no BuildKit gRPC endpoint; use the classic builder (DOCKER_BUILDKIT=0)")
	})
	s.handle("POST /build/prune", s.pruneBuildCache)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, notFound("page not found: skiff does not serve %s %s", r.Method, r.URL.Path))
	})
}

// badRequest and its siblings make errors with docker's statuses.
func badRequest(format string, args ...any) error {
	return &statusError{code: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &statusError{code: http.StatusNotFound, msg: fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) error {
	return &statusError{code: http.StatusConflict, msg: fmt.Sprintf(format, args...)}
}

func notImplemented(format string, args ...any) error {
	return &statusError{code: http.StatusNotImplemented, msg: fmt.Sprintf(format, args...)}
}

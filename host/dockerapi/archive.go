package dockerapi

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/containers"
	"github.com/skiffrun/skiff/host/format"
)

// pathStatHeader carries a path's stat on HEAD and GET /archive: base64
// of docker's PathStat JSON.
const pathStatHeader = "X-Docker-Container-Path-Stat"

func (s *Server) archiveRoutes() {
	s.handle("HEAD /containers/{id}/archive", s.statArchive)
	s.handle("GET /containers/{id}/archive", s.getArchive)
	s.handle("PUT /containers/{id}/archive", s.putArchive)
}

// archivePath is the request's path parameter, which docker requires.
func archivePath(r *http.Request) (string, error) {
	p := r.URL.Query().Get("path")
	if p == "" {
		return "", badRequest("path is required: name a file or directory of the container, as in ?path=/etc/hosts")
	}
	return p, nil
}

// statPath asks the agent for a path's stat, with docker's 404 when it
// is missing.
func (s *Server) statPath(r *http.Request, id, p string) (*apiv1.PathStat, error) {
	st, err := s.b.Client.Archive.Stat(r.Context(), &apiv1.ArchivePathRequest{Container: id, Path: p})
	if errdefs.IsNotFound(err) {
		if _, cerr := s.b.Client.Containers.Inspect(r.Context(), &apiv1.ContainerRef{Id: id}); errdefs.IsNotFound(cerr) {
			return nil, notFound("No such container: %s", id)
		}
		return nil, notFound("Could not find the file %s in container %s", p, id)
	}
	return st, err
}

func setPathStat(w http.ResponseWriter, st *apiv1.PathStat) error {
	b, err := json.Marshal(container.PathStat{
		Name:       st.GetName(),
		Size:       st.GetSize(),
		Mode:       os.FileMode(st.GetMode()),
		Mtime:      format.Time(st.GetMtime()),
		LinkTarget: st.GetLinkTarget(),
	})
	if err != nil {
		return err
	}
	w.Header().Set(pathStatHeader, base64.StdEncoding.EncodeToString(b))
	return nil
}

func (s *Server) statArchive(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	p, err := archivePath(r)
	if err != nil {
		return err
	}
	st, err := s.statPath(r, id, p)
	if err != nil {
		return err
	}
	if err := setPathStat(w, st); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// getArchive sends a tar of the path. The stat is asked first, so that
// its header and a missing path's 404 come before the body.
func (s *Server) getArchive(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	p, err := archivePath(r)
	if err != nil {
		return err
	}
	st, err := s.statPath(r, id, p)
	if err != nil {
		return err
	}
	if err := setPathStat(w, st); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-tar")
	bw := &lazyWriter{w: w}
	if _, err := containers.GetArchive(r.Context(), s.b.Client, id, p, bw); err != nil {
		if bw.started {
			// The body has begun: the client sees a short archive.
			return nil
		}
		return err
	}
	if !bw.started {
		w.WriteHeader(http.StatusOK)
	}
	return nil
}

// lazyWriter sends the 200 with the first bytes, so that an error before
// them can still be docker's JSON error.
type lazyWriter struct {
	w       http.ResponseWriter
	started bool
}

func (l *lazyWriter) Write(b []byte) (int, error) {
	if !l.started {
		l.w.WriteHeader(http.StatusOK)
		l.started = true
	}
	return l.w.Write(b)
}

func (s *Server) putArchive(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	p, err := archivePath(r)
	if err != nil {
		return err
	}
	st, err := s.statPath(r, id, p)
	if err != nil {
		return err
	}
	if !os.FileMode(st.GetMode()).IsDir() {
		return badRequest("extraction point is not a directory: %s", p)
	}
	body, err := decompressed(r.Body)
	if err != nil {
		return err
	}
	if err := containers.PutArchive(r.Context(), s.b.Client, id, p, body); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// decompressed reads a PUT /archive body as docker does: a tar, or one
// compressed with gzip or bzip2 (testcontainers sends gzip).
func decompressed(body io.Reader) (io.Reader, error) {
	br := bufio.NewReader(body)
	magic, err := br.Peek(3)
	if err != nil && err != io.EOF {
		return nil, badRequest("read the archive: %s", err.Error())
	}
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, badRequest("read the gzip archive: %s", err.Error())
		}
		return zr, nil
	case bytes.HasPrefix(magic, []byte("BZh")):
		return bzip2.NewReader(br), nil
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z'}):
		return nil, badRequest("skiff does not read xz archives: send a tar, or one compressed with gzip or bzip2")
	}
	return br, nil
}

package dockerapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/registry"

	"github.com/skiffrun/skiff/guest/api/chunk"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/images"
	"github.com/skiffrun/skiff/host/opts"
)

func (s *Server) imageRoutes() {
	s.handle("GET /images/json", s.listImages)
	s.handle("POST /images/create", s.createImage)
	s.handle("POST /images/load", s.loadImages)
	s.handle("GET /images/get", s.saveImages)
	s.handle("POST /images/prune", s.pruneImages)
	s.handle("GET /images/search", func(http.ResponseWriter, *http.Request) error {
		return notImplemented("skiff does not search registries; look images up on the registry's own site, then pull them by name")
	})
	// Image names hold slashes, so the rest of the path is split here:
	// NAME/json, NAME/history, NAME/get, NAME/push, NAME/tag, NAME.
	s.handle("GET /images/{rest...}", s.imageByName)
	s.handle("POST /images/{rest...}", s.imageByName)
	s.handle("DELETE /images/{rest...}", s.removeImage)
}

func (s *Server) imageByName(w http.ResponseWriter, r *http.Request) error {
	rest := r.PathValue("rest")
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 {
		return notFound("page not found: %s %s", r.Method, r.URL.Path)
	}
	name, op := rest[:i], rest[i+1:]
	switch r.Method + " " + op {
	case "GET json":
		return s.inspectImage(w, r, name)
	case "GET get":
		return s.save(w, r, []string{name})
	case "POST push":
		return s.pushImage(w, r, name)
	case "POST tag":
		return s.tagImage(w, r, name)
	case "GET history":
		return s.imageHistory(w, r, name)
	}
	return notFound("page not found: %s %s", r.Method, r.URL.Path)
}

// imageSummary is one entry of docker's image list.
type imageSummary struct {
	ID          string `json:"Id"`
	ParentID    string `json:"ParentId"`
	RepoTags    []string
	RepoDigests []string
	Created     int64
	Size        int64
	SharedSize  int64
	VirtualSize int64 `json:",omitempty"`
	Labels      map[string]string
	Containers  int64
}

func (s *Server) listImages(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, err := parseFilters(q.Get("filters"))
	if err != nil {
		return err
	}
	// API < 1.41 names a reference filter "filter=" outside filters.
	if v := q.Get("filter"); v != "" {
		f = addFilter(f, "reference", v)
	}
	resp, err := s.b.Client.Images.List(r.Context(), &apiv1.ListImagesRequest{All: boolParam(q.Get("all")), Filters: agentFilters(f)})
	if err != nil {
		return err
	}
	out := []imageSummary{}
	for _, img := range resp.GetImages() {
		labels := img.GetConfig().GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		sum := imageSummary{
			ID: img.GetId(), RepoTags: nonNilStrings(img.GetRepoTags()), RepoDigests: nonNilStrings(img.GetRepoDigests()),
			Created: time.Unix(0, img.GetCreated()).Unix(), Size: img.GetSize(), SharedSize: -1, Labels: labels, Containers: -1,
		}
		if compareVersions(apiVersion(r.Context()), "1.44") < 0 {
			sum.VirtualSize = img.GetSize()
		}
		out = append(out, sum)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func addFilter(f map[string][]string, key, value string) map[string][]string {
	if f == nil {
		f = map[string][]string{}
	}
	f[key] = append(f[key], value)
	return f
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *Server) inspectImage(w http.ResponseWriter, r *http.Request, name string) error {
	img, err := s.b.Client.Images.Inspect(r.Context(), &apiv1.ImageRef{Ref: name})
	if err != nil {
		return imageError(err, name)
	}
	writeJSON(w, http.StatusOK, images.NewInspect(img))
	return nil
}

// imageError words a missing image as docker does.
func imageError(err error, name string) error {
	if statusOf(err) == http.StatusNotFound {
		return notFound("No such image: %s", name)
	}
	return err
}

func (s *Server) tagImage(w http.ResponseWriter, r *http.Request, name string) error {
	q := r.URL.Query()
	target := q.Get("repo")
	if target == "" {
		return badRequest("a repository is required: tag?repo=NAME&tag=TAG")
	}
	if t := q.Get("tag"); t != "" {
		target += ":" + t
	}
	if _, err := reference.ParseNormalizedNamed(target); err != nil {
		return badRequest("invalid reference format %q: %s", target, err.Error())
	}
	if _, err := s.b.Client.Images.Tag(r.Context(), &apiv1.TagRequest{Source: name, Target: target}); err != nil {
		return imageError(err, name)
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

func (s *Server) removeImage(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("rest")
	resp, err := s.b.Client.Images.Remove(r.Context(), &apiv1.RemoveImageRequest{Ref: name, Force: boolParam(r.URL.Query().Get("force"))})
	if err != nil {
		return imageError(err, name)
	}
	writeJSON(w, http.StatusOK, deleteItems(resp.GetUntagged(), resp.GetDeleted()))
	return nil
}

func deleteItems(untagged, deleted []string) []image.DeleteResponse {
	out := []image.DeleteResponse{}
	for _, u := range untagged {
		out = append(out, image.DeleteResponse{Untagged: u})
	}
	for _, d := range deleted {
		out = append(out, image.DeleteResponse{Deleted: d})
	}
	return out
}

func (s *Server) pruneImages(w http.ResponseWriter, r *http.Request) error {
	f, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	all := false
	if d := f["dangling"]; len(d) == 1 && !boolParam(d[0]) {
		all = true
		delete(f, "dangling")
	}
	resp, err := s.b.Client.Images.Prune(r.Context(), &apiv1.PruneImagesRequest{All: all, Filters: agentFilters(f)})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, image.PruneReport{
		ImagesDeleted:  deleteItems(resp.GetUntagged(), resp.GetDeleted()),
		SpaceReclaimed: uint64(max(resp.GetSpaceReclaimed(), 0)),
	})
	return nil
}

// registryOptions are the credentials and settings for ref: the
// client's X-Registry-Auth when it sent some, else the user's own, as
// skiff pull resolves them.
func (s *Server) registryOptions(r *http.Request, ref string) (*apiv1.RegistryOptions, error) {
	ro := &apiv1.RegistryOptions{}
	if s.b.Registry != nil {
		var err error
		if ro, err = s.b.Registry(ref); err != nil {
			return nil, err
		}
		if ro == nil {
			ro = &apiv1.RegistryOptions{}
		}
	}
	if h := r.Header.Get("X-Registry-Auth"); h != "" {
		ac, err := decodeAuth(h)
		if err != nil {
			return nil, err
		}
		if ac.Username != "" || ac.Password != "" || ac.IdentityToken != "" || ac.RegistryToken != "" {
			ro.Auth = &apiv1.RegistryAuth{Username: ac.Username, Password: ac.Password, IdentityToken: ac.IdentityToken, RegistryToken: ac.RegistryToken}
		}
	}
	return ro, nil
}

// decodeAuth reads X-Registry-Auth: base64url (padded or not) JSON.
func decodeAuth(h string) (registry.AuthConfig, error) {
	var ac registry.AuthConfig
	raw, err := base64.URLEncoding.DecodeString(h)
	if err != nil {
		raw, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(h, "="))
	}
	if err != nil {
		return ac, badRequest("invalid X-Registry-Auth header: not base64url")
	}
	if err := json.Unmarshal(raw, &ac); err != nil {
		return ac, badRequest("invalid X-Registry-Auth header: %s", err.Error())
	}
	return ac, nil
}

// progressWriter writes docker's JSON progress stream.
type progressWriter struct {
	w       http.ResponseWriter
	started bool
}

func (p *progressWriter) start() {
	if !p.started {
		p.w.Header().Set("Content-Type", "application/json")
		p.w.WriteHeader(http.StatusOK)
		p.started = true
	}
}

func (p *progressWriter) send(m jsonstream.Message) error {
	p.start()
	return jsonLine(p.w, m)
}

func (p *progressWriter) status(format string, args ...any) error {
	return p.send(jsonstream.Message{Status: fmt.Sprintf(format, args...)})
}

// fail ends the stream with an error: as docker's JSON error once the
// stream has begun, else as the response itself.
func (p *progressWriter) fail(err error) error {
	if !p.started {
		return err
	}
	_ = p.send(jsonstream.Message{Error: &jsonstream.Error{Message: err.Error()}})
	return nil
}

func (p *progressWriter) update(m *apiv1.PullProgress) error {
	msg := jsonstream.Message{ID: m.GetId(), Status: m.GetStatus()}
	if m.GetTotal() > 0 || m.GetCurrent() > 0 {
		msg.Progress = &jsonstream.Progress{Current: m.GetCurrent(), Total: m.GetTotal()}
	}
	return p.send(msg)
}

func (s *Server) createImage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if src := q.Get("fromSrc"); src != "" {
		return s.importImage(w, r, src)
	}
	ref := q.Get("fromImage")
	if ref == "" {
		return badRequest("give fromImage (pull) or fromSrc (import)")
	}
	if tag := q.Get("tag"); tag != "" {
		if strings.HasPrefix(tag, "sha256:") {
			ref += "@" + tag
		} else {
			ref += ":" + tag
		}
	}
	if _, err := reference.ParseNormalizedNamed(ref); err != nil {
		return badRequest("invalid reference format %q: %s", ref, err.Error())
	}
	platform, err := opts.Platform("platform", q.Get("platform"))
	if err != nil {
		return badRequest("%s", err.Error())
	}
	ro, err := s.registryOptions(r, ref)
	if err != nil {
		return err
	}
	st, err := s.b.Client.Images.Pull(r.Context(), &apiv1.PullRequest{Ref: ref, Platform: platform, Registry: ro})
	if err != nil {
		return err
	}
	p := &progressWriter{w: w}
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return p.fail(fmt.Errorf("pull %s: the agent ended the pull without a result", ref))
		}
		if err != nil {
			return p.fail(err)
		}
		if !m.GetDone() {
			if err := p.update(m); err != nil {
				return nil
			}
			continue
		}
		name := familiarTagged(m.GetName())
		_ = p.status("Digest: %s", m.GetDigest())
		if m.GetUpdated() {
			return ignore(p.status("Status: Downloaded newer image for %s", name))
		}
		return ignore(p.status("Status: Image is up to date for %s", name))
	}
}

// ignore drops a write error: the client went away mid-stream.
func ignore(error) error { return nil }

func (s *Server) importImage(w http.ResponseWriter, r *http.Request, src string) error {
	if src != "-" {
		return badRequest("skiff imports only an uploaded tarball (fromSrc=-), not %s; download it and import the file", src)
	}
	q := r.URL.Query()
	ref := q.Get("repo")
	if ref != "" && q.Get("tag") != "" {
		ref += ":" + q.Get("tag")
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	st, err := s.b.Client.Images.Import(ctx)
	if err != nil {
		return err
	}
	first := &apiv1.ImportChunk{Options: &apiv1.ImportOptions{Reference: ref, Changes: q["changes"], Message: q.Get("message"), Platform: q.Get("platform")}}
	if err := st.Send(first); err != nil {
		_, err = st.CloseAndRecv()
		return err
	}
	cw := chunk.NewWriter(func(b []byte) error { return st.Send(&apiv1.ImportChunk{Data: b}) })
	_, rerr := cw.ReadFrom(r.Body)
	if err := cw.Flush(); err != nil {
		_, err = st.CloseAndRecv()
		return err
	}
	if rerr != nil {
		cancel()
		return badRequest("read the uploaded tarball: %s", rerr.Error())
	}
	resp, err := st.CloseAndRecv()
	if err != nil {
		return err
	}
	p := &progressWriter{w: w}
	return ignore(p.status("%s", resp.GetId()))
}

func (s *Server) pushImage(w http.ResponseWriter, r *http.Request, name string) error {
	ref := name
	if tag := r.URL.Query().Get("tag"); tag != "" {
		ref += ":" + tag
	}
	ro, err := s.registryOptions(r, ref)
	if err != nil {
		return err
	}
	st, err := s.b.Client.Images.Push(r.Context(), &apiv1.PushRequest{Ref: ref, Registry: ro})
	if err != nil {
		return imageError(err, ref)
	}
	p := &progressWriter{w: w}
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return p.fail(fmt.Errorf("push %s: the agent ended the push without a result", ref))
		}
		if err != nil {
			return p.fail(imageError(err, ref))
		}
		if m.GetDone() {
			tag := "latest"
			if n, err := reference.ParseNormalizedNamed(ref); err == nil {
				if t, ok := n.(reference.Tagged); ok {
					tag = t.Tag()
				}
			}
			_ = p.status("%s: digest: %s size: %d", tag, m.GetDigest(), m.GetSize())
			return ignore(p.send(jsonstream.Message{Aux: auxJSON(map[string]any{"Tag": tag, "Digest": m.GetDigest(), "Size": m.GetSize()})}))
		}
		if err := p.update(m); err != nil {
			return nil
		}
	}
}

func auxJSON(v any) *json.RawMessage {
	b, _ := json.Marshal(v)
	raw := json.RawMessage(b)
	return &raw
}

func (s *Server) saveImages(w http.ResponseWriter, r *http.Request) error {
	names := r.URL.Query()["names"]
	if len(names) == 0 {
		return badRequest("give the images to save: get?names=NAME")
	}
	return s.save(w, r, names)
}

func (s *Server) save(w http.ResponseWriter, r *http.Request, refs []string) error {
	st, err := s.b.Client.Images.Save(r.Context(), &apiv1.SaveRequest{Refs: refs})
	if err != nil {
		return err
	}
	// The first chunk tells a missing image from an archive.
	first, err := st.Recv()
	if err != nil {
		if len(refs) == 1 {
			return imageError(err, refs[0])
		}
		return err
	}
	w.Header().Set("Content-Type", "application/x-tar")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(first.GetData()); err != nil {
		return nil
	}
	archive := chunk.NewReader(func() ([]byte, error) {
		c, err := st.Recv()
		return c.GetData(), err
	})
	_, _ = archive.WriteTo(w)
	return nil
}

func (s *Server) loadImages(w http.ResponseWriter, r *http.Request) error {
	quiet := boolParam(r.URL.Query().Get("quiet"))
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	st, err := s.b.Client.Images.Load(ctx)
	if err != nil {
		return err
	}
	sendErr := make(chan error, 1)
	go func() {
		cw := chunk.NewWriter(func(b []byte) error { return st.Send(&apiv1.LoadChunk{Data: b}) })
		_, rerr := cw.ReadFrom(r.Body)
		if cw.Flush() != nil {
			sendErr <- nil
			return
		}
		if rerr != nil {
			cancel()
			sendErr <- rerr
			return
		}
		sendErr <- st.CloseSend()
	}()
	p := &progressWriter{w: w}
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			select {
			case serr := <-sendErr:
				if serr != nil {
					return p.fail(badRequest("read the uploaded archive: %s", serr.Error()))
				}
			default:
			}
			return p.fail(err)
		}
		if m.GetMessage() != "" && (!quiet || len(m.GetLoaded()) > 0) {
			if err := p.send(jsonstream.Message{Stream: m.GetMessage() + "\n"}); err != nil {
				return nil
			}
		}
	}
}

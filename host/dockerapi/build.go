package dockerapi

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/registry"
	"github.com/ulikunitz/xz"

	"github.com/skiffrun/skiff/guest/api/chunk"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/build"
	"github.com/skiffrun/skiff/host/opts"
)

// maxDockerfile bounds the Dockerfile read out of a build context.
const maxDockerfile = 4 << 20

// buildOptions reads the classic builder's query: t, dockerfile,
// buildargs, labels, target, nocache, pull, platform, q.
func buildOptions(r *http.Request) (*apiv1.BuildOptions, string, error) {
	q := r.URL.Query()
	req := &apiv1.BuildOptions{
		Target: q.Get("target"), NoCache: boolParam(q.Get("nocache")), Pull: boolParam(q.Get("pull")),
		BuildArgs: map[string]string{},
	}
	for _, t := range q["t"] {
		if _, err := reference.ParseNormalizedNamed(t); err != nil {
			return nil, "", badRequest("invalid tag %q: %s", t, err.Error())
		}
		req.Tags = append(req.Tags, t)
	}
	if v := q.Get("buildargs"); v != "" {
		var args map[string]*string
		if err := json.Unmarshal([]byte(v), &args); err != nil {
			return nil, "", badRequest("invalid buildargs %q: %s", v, err.Error())
		}
		for k, val := range args {
			// A build arg without a value the client could not resolve
			// stays unset.
			if val != nil {
				req.BuildArgs[k] = *val
			}
		}
	}
	if v := q.Get("labels"); v != "" {
		if err := json.Unmarshal([]byte(v), &req.Labels); err != nil {
			return nil, "", badRequest("invalid labels %q: %s", v, err.Error())
		}
	}
	var err error
	if req.Platform, err = opts.Platform("platform", q.Get("platform")); err != nil {
		return nil, "", badRequest("%s", err.Error())
	}
	if remote := q.Get("remote"); remote != "" {
		return nil, "", badRequest("skiff builds from an uploaded context only, not from %s; clone or download it and build the folder", remote)
	}
	name := q.Get("dockerfile")
	if name == "" {
		name = "Dockerfile"
	}
	return req, name, nil
}

// spoolContext writes the uploaded context, decompressed, to a temporary
// file (it is read twice: for the Dockerfile, then for the agent).
func spoolContext(body io.Reader) (*os.File, error) {
	br := bufio.NewReader(body)
	var in io.Reader = br
	magic, _ := br.Peek(6)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, badRequest("read the build context: %s", err.Error())
		}
		in = zr
	case bytes.HasPrefix(magic, []byte("BZh")):
		in = bzip2.NewReader(br)
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}):
		xr, err := xz.NewReader(br)
		if err != nil {
			return nil, badRequest("read the build context: %s", err.Error())
		}
		in = xr
	}
	f, err := os.CreateTemp("", "skiff-build-context-")
	if err != nil {
		return nil, fmt.Errorf("spool the build context: %w", err)
	}
	_ = os.Remove(f.Name())
	if _, err := io.Copy(f, in); err != nil {
		f.Close()
		return nil, badRequest("read the build context: %s", err.Error())
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// dockerfileIn finds the Dockerfile name in the context tar.
func dockerfileIn(ctx io.Reader, name string) ([]byte, error) {
	want := path.Clean(strings.TrimPrefix(name, "./"))
	tr := tar.NewReader(ctx)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, badRequest("Cannot locate specified Dockerfile: %s", name)
		}
		if err != nil {
			return nil, badRequest("read the build context: %s", err.Error())
		}
		if path.Clean(strings.TrimPrefix(h.Name, "./")) != want {
			continue
		}
		if h.Typeflag != tar.TypeReg {
			return nil, badRequest("the Dockerfile %s in the context is not a regular file", name)
		}
		data, err := io.ReadAll(io.LimitReader(tr, maxDockerfile+1))
		if err != nil {
			return nil, badRequest("read the Dockerfile: %s", err.Error())
		}
		if len(data) > maxDockerfile {
			return nil, badRequest("the Dockerfile %s is larger than %d bytes", name, maxDockerfile)
		}
		return data, nil
	}
}

// buildAuths reads X-Registry-Config: base64url JSON of credentials by
// registry.
func buildAuths(h string) (map[string]*apiv1.RegistryAuth, error) {
	if h == "" {
		return nil, nil
	}
	raw, err := base64.URLEncoding.DecodeString(h)
	if err != nil {
		raw, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(h, "="))
	}
	if err != nil {
		return nil, badRequest("invalid X-Registry-Config header: not base64url")
	}
	var byHost map[string]registry.AuthConfig
	if err := json.Unmarshal(raw, &byHost); err != nil {
		return nil, badRequest("invalid X-Registry-Config header: %s", err.Error())
	}
	out := map[string]*apiv1.RegistryAuth{}
	for host, ac := range byHost {
		if ac.Username == "" && ac.Password == "" && ac.IdentityToken == "" && ac.RegistryToken == "" {
			continue
		}
		domain := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://"), "/v1/")
		if domain == "index.docker.io" {
			domain = "docker.io"
		}
		out[domain] = &apiv1.RegistryAuth{Username: ac.Username, Password: ac.Password, IdentityToken: ac.IdentityToken, RegistryToken: ac.RegistryToken}
	}
	return out, nil
}

func (s *Server) build(w http.ResponseWriter, r *http.Request) error {
	req, name, err := buildOptions(r)
	if err != nil {
		return err
	}
	quiet := boolParam(r.URL.Query().Get("q"))
	auths, err := buildAuths(r.Header.Get("X-Registry-Config"))
	if err != nil {
		return err
	}
	f, err := spoolContext(r.Body)
	if err != nil {
		return err
	}
	defer f.Close()
	if req.Dockerfile, err = dockerfileIn(f, name); err != nil {
		return err
	}
	req.DockerfileName = path.Base(name)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if s.b.Registry != nil {
		if err := build.ResolveRegistries(req, s.b.Registry); err != nil {
			return err
		}
	}
	for domain, a := range auths {
		if req.Auths == nil {
			req.Auths = map[string]*apiv1.RegistryAuth{}
		}
		req.Auths[domain] = a
	}

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	st, err := s.b.Client.Builder.Build(ctx)
	if err != nil {
		return err
	}
	if err := st.Send(&apiv1.BuildInput{Msg: &apiv1.BuildInput_Options{Options: req}}); err != nil {
		if _, rerr := st.Recv(); rerr != nil {
			return rerr
		}
		return err
	}
	go func() {
		cw := chunk.NewWriter(func(b []byte) error {
			return st.Send(&apiv1.BuildInput{Msg: &apiv1.BuildInput_Context{Context: b}})
		})
		_, rerr := cw.ReadFrom(f)
		if cw.Flush() != nil {
			return
		}
		if rerr != nil {
			cancel()
			return
		}
		_ = st.CloseSend()
	}()
	p := &progressWriter{w: w}
	p.start()
	var id string
	for {
		out, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return p.fail(err)
		}
		if prog := out.GetProgress(); prog != nil && !quiet {
			if err := p.send(jsonstream.Message{Stream: string(prog)}); err != nil {
				return nil
			}
		}
		if v := out.GetImageId(); v != "" {
			id = v
		}
	}
	if id == "" {
		return p.fail(errors.New("the build ended without an image; see the machine's agent log"))
	}
	_ = p.send(jsonstream.Message{Aux: auxJSON(map[string]string{"ID": id})})
	if quiet {
		return ignore(p.send(jsonstream.Message{Stream: id + "\n"}))
	}
	short := strings.TrimPrefix(id, "sha256:")
	if len(short) > 12 {
		short = short[:12]
	}
	_ = p.send(jsonstream.Message{Stream: "Successfully built " + short + "\n"})
	for _, t := range req.Tags {
		_ = p.send(jsonstream.Message{Stream: "Successfully tagged " + familiarTagged(t) + "\n"})
	}
	return nil
}

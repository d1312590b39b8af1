package build

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func tarNames(t *testing.T, data []byte) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Uid != 0 || hdr.Gid != 0 {
			t.Errorf("%s owned by %d:%d, want root", hdr.Name, hdr.Uid, hdr.Gid)
		}
		names = append(names, hdr.Name)
	}
}

func TestWriteContextHonoursDockerignore(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Dockerfile":        "FROM scratch\n",
		".dockerignore":     "# build output\nnode_modules\n*.log\nsecret/\n!secret/public.txt\n**/*.tmp\n",
		"app.go":            "package main",
		"debug.log":         "x",
		"node_modules/m.js": "x",
		"secret/key":        "x",
		"secret/public.txt": "ok",
		"deep/a/b.tmp":      "x",
		"deep/a/keep.go":    "x",
	})
	patterns, err := ReadIgnore(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMatcher(patterns)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteContext(&buf, dir, m); err != nil {
		t.Fatal(err)
	}
	got := tarNames(t, buf.Bytes())
	want := []string{".dockerignore", "Dockerfile", "app.go", "deep/", "deep/a/", "deep/a/keep.go", "secret/public.txt"}
	if !slices.Equal(got, want) {
		t.Errorf("context holds %v, want %v", got, want)
	}
}

func TestReadIgnorePrefersTheDockerfilesOwn(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{".dockerignore": "a\n", "app.Dockerfile": "FROM scratch\n", "app.Dockerfile.dockerignore": "b\n"})
	got, err := ReadIgnore(dir, filepath.Join(dir, "app.Dockerfile"))
	if err != nil || !slices.Equal(got, []string{"b"}) {
		t.Errorf("ReadIgnore = %v, %v; want the Dockerfile's own patterns", got, err)
	}
	got, err = ReadIgnore(dir, "")
	if err != nil || !slices.Equal(got, []string{"a"}) {
		t.Errorf("ReadIgnore = %v, %v; want .dockerignore's", got, err)
	}
	if got, err := ReadIgnore(t.TempDir(), ""); err != nil || got != nil {
		t.Errorf("no .dockerignore: %v, %v", got, err)
	}
}

func TestRequest(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM scratch\n", "other/Build.df": "FROM busybox\n"})
	env := map[string]string{"FROM_ENV": "e"}
	getenv := func(k string) string { return env[k] }

	req, err := request(Options{ContextDir: dir, Tags: []string{"app", "reg:5000/x/y:1"}, BuildArgs: []string{"A=1", "B=", "FROM_ENV", "UNSET"}, Labels: []string{"k=v", "flag"}}, nil, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if string(req.GetDockerfile()) != "FROM scratch\n" || req.GetDockerfileName() != "Dockerfile" {
		t.Errorf("Dockerfile %q named %q", req.GetDockerfile(), req.GetDockerfileName())
	}
	args := req.GetBuildArgs()
	if args["A"] != "1" || args["B"] != "" || args["FROM_ENV"] != "e" || len(args) != 3 {
		t.Errorf("build args %v: KEY alone comes from the environment and is dropped when unset", args)
	}
	if l := req.GetLabels(); l["k"] != "v" || l["flag"] != "" {
		t.Errorf("labels %v", l)
	}

	req, err = request(Options{ContextDir: dir, Dockerfile: filepath.Join(dir, "other/Build.df")}, nil, getenv)
	if err != nil || req.GetDockerfileName() != "Build.df" {
		t.Errorf("-f path: %v, %v", req, err)
	}
	req, err = request(Options{ContextDir: dir, Dockerfile: "-"}, strings.NewReader("FROM stdin\n"), getenv)
	if err != nil || string(req.GetDockerfile()) != "FROM stdin\n" {
		t.Errorf("-f -: %v, %v", req, err)
	}

	for _, o := range []Options{
		{ContextDir: dir, Tags: []string{"Bad:Tag:x"}},
		{ContextDir: dir, Tags: []string{"a@sha256:" + strings.Repeat("0", 64)}},
		{ContextDir: dir, Progress: "fancy"},
		{ContextDir: dir, BuildArgs: []string{"=x"}},
		{ContextDir: filepath.Join(dir, "missing")},
		{ContextDir: dir, Dockerfile: filepath.Join(dir, "nope")},
		{ContextDir: "-"},
	} {
		if _, err := request(o, nil, getenv); err == nil {
			t.Errorf("request(%+v) accepted", o)
		}
	}
}

func TestBaseImages(t *testing.T) {
	df := `ARG REG=registry.example.com:5000
ARG TAG=1
FROM ${REG}/base:${TAG} AS build
FROM build AS test
COPY --from=build /a /a
COPY --from=0 /a /a
COPY --from=docker.io/library/alpine:3 /b /b
FROM scratch
COPY --from=busybox /bin/sh /sh
FROM later
FROM test
`
	got := baseImages([]byte(df), map[string]string{"TAG": "2"})
	want := []string{"registry.example.com:5000/base:2", "docker.io/library/alpine:3", "busybox", "later"}
	if !slices.Equal(got, want) {
		t.Errorf("baseImages = %v, want %v", got, want)
	}
	if got := baseImages([]byte("FROM a b c d\n"), nil); got != nil {
		t.Errorf("a Dockerfile that does not parse names %v", got)
	}

	req := &apiv1.BuildOptions{Dockerfile: []byte("FROM private.example.com/app\nFROM busybox\n")}
	var asked []string
	err := registryFor(req, func(ref string) (*apiv1.RegistryOptions, error) {
		asked = append(asked, ref)
		o := &apiv1.RegistryOptions{InsecureRegistries: []string{"insecure:5000"}}
		if strings.HasPrefix(ref, "private.example.com/") {
			o.Auth = &apiv1.RegistryAuth{Username: "u", Password: "p"}
		}
		return o, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(req.GetAuths()) != 1 || req.GetAuths()["private.example.com"].GetUsername() != "u" {
		t.Errorf("auths %v, want the private registry's only", req.GetAuths())
	}
	if !slices.Equal(req.GetRegistry().GetInsecureRegistries(), []string{"insecure:5000"}) || len(asked) != 2 {
		t.Errorf("registry %v, asked for %v", req.GetRegistry(), asked)
	}
}

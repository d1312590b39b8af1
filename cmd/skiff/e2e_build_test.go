//go:build e2e

package main_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// buildContext writes files into a fresh context directory.
func buildContext(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// buildOK builds and returns the image ID and the progress output.
func buildOK(t *testing.T, args ...string) (string, string) {
	t.Helper()
	r := skiff(t, append([]string{"build", "--progress=plain"}, args...)...)
	if r.code != 0 {
		t.Fatalf("skiff build %s: %s", strings.Join(args, " "), r)
	}
	id := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(id, "sha256:") {
		t.Fatalf("build printed %q, want the image ID", r.stdout)
	}
	return id, r.stderr
}

func removeImages(t *testing.T, refs ...string) {
	t.Helper()
	t.Cleanup(func() {
		for _, r := range refs {
			skiff(t, "rmi", "-f", r)
		}
	})
}

// buildLeftovers lists what failed or finished builds must not leave:
// work directories and mounts of the builder (native driver only; in a
// machine they are out of sight).
func buildLeftovers(t *testing.T) []string {
	t.Helper()
	if driver() != "native" {
		return nil
	}
	tmp := filepath.Join(skiffHome, "machines", "default", "agent", "build", "tmp")
	var left []string
	ents, _ := os.ReadDir(tmp)
	for _, e := range ents {
		left = append(left, "build directory: "+e.Name())
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(mounts), "\n") {
		if strings.Contains(line, tmp) {
			left = append(left, "mount: "+line)
		}
	}
	return left
}

// TestBuildCacheAndRun builds an image, runs it, and rebuilds it: first
// with nothing changed (no RUN runs, same image), then with one COPY'd
// file changed (only the steps after it run).
func TestBuildCacheAndRun(t *testing.T) {
	ctx := buildContext(t, map[string]string{
		"Dockerfile": `FROM localhost/busybox
ARG GREETING=hello
ENV TARGET=world
RUN echo "first-ran-$((40+2)) $GREETING" && echo "$GREETING $TARGET" > /greeting
COPY app.txt /app/
RUN echo "second-ran-$((40+2))" && wc -c < /app/app.txt > /app/size
COPY . /ctx/
WORKDIR /app
USER 1000:1000
CMD ["cat", "/greeting"]
`,
		"app.txt":       "version one\n",
		".dockerignore": "secret.txt\nlogs\n!logs/keep.txt\n",
		"secret.txt":    "do not send",
		"logs/a.log":    "x",
		"logs/keep.txt": "kept",
	})
	tag := "localhost/e2e-build-cache:latest"
	removeImages(t, tag)
	id1, out := buildOK(t, "-t", tag, ctx)
	for _, want := range []string{"first-ran-42 hello", "second-ran-42", "[stage-0 4/10] RUN echo"} {
		if !strings.Contains(out, want) {
			t.Errorf("cold build output lacks %q:\n%s", want, out)
		}
	}
	if got := must(t, "run", "--rm", tag); got != "hello world" {
		t.Errorf("image prints %q, want the greeting RUN wrote", got)
	}
	got := must(t, "run", "--rm", tag, "sh", "-c", "pwd; id -u; id -g; echo $TARGET; cat /app/size; ls /ctx /ctx/logs; cat /ctx/logs/keep.txt")
	want := "/app\n1000\n1000\nworld\n12\n/ctx:\nDockerfile\napp.txt\nlogs\n\n/ctx/logs:\nkeep.txt\nkept"
	if got != want {
		t.Errorf("image runs with:\n%s\nwant:\n%s", got, want)
	}

	// Unchanged: every layer step from the cache, no RUN, same image.
	id2, out := buildOK(t, "-t", tag, ctx)
	if strings.Contains(out, "ran-42") {
		t.Errorf("warm build ran a RUN step:\n%s", out)
	}
	if n := strings.Count(out, "CACHED"); n != 4 {
		t.Errorf("warm build has %d CACHED steps, want 4:\n%s", n, out)
	}
	if id2 != id1 {
		t.Errorf("warm build made %s, want the same image %s", id2, id1)
	}

	// One COPY'd file changed: the RUN before it is cached, the one
	// after it runs.
	if err := os.WriteFile(filepath.Join(ctx, "app.txt"), []byte("version two, longer\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	id3, out := buildOK(t, "-t", tag, ctx)
	if strings.Contains(out, "first-ran-42") || !strings.Contains(out, "second-ran-42") {
		t.Errorf("after a COPY'd file changed, want only the later RUN to run:\n%s", out)
	}
	if id3 == id1 {
		t.Error("a changed file made the same image")
	}
	if got := must(t, "run", "--rm", tag, "cat", "/app/size"); got != "20" {
		t.Errorf("size %q, want 20", got)
	}

	// --build-arg reaches ARG, and changes the RUN's cache key.
	_, out = buildOK(t, "--build-arg", "GREETING=bonjour", "--build-arg", "UNUSED=1", "-t", tag, ctx)
	if !strings.Contains(out, "first-ran-42 bonjour") {
		t.Errorf("--build-arg did not reach the RUN:\n%s", out)
	}
	if !strings.Contains(out, "[Warning] One or more build-args [UNUSED] were not consumed") {
		t.Errorf("no warning about an unused build arg:\n%s", out)
	}
	if got := must(t, "run", "--rm", tag); got != "bonjour world" {
		t.Errorf("image prints %q", got)
	}

	// --no-cache runs every step again.
	_, out = buildOK(t, "--no-cache", "-t", tag, ctx)
	if strings.Contains(out, "CACHED") || !strings.Contains(out, "first-ran-42") {
		t.Errorf("--no-cache used the cache:\n%s", out)
	}
	if left := buildLeftovers(t); len(left) > 0 {
		t.Errorf("builds left:\n%s", strings.Join(left, "\n"))
	}
}

// TestBuildMultiStage copies from earlier stages and an image, builds a
// --target, and checks COPY --chown and --chmod.
func TestBuildMultiStage(t *testing.T) {
	ctx := buildContext(t, map[string]string{
		"Dockerfile": `ARG BASE=localhost/busybox
FROM ${BASE} AS builder
RUN mkdir /out && echo compiled > /out/bin && echo "app:x:4321:4321::/:/bin/sh" >> /etc/passwd && echo "app:x:4321:" >> /etc/group

FROM builder AS tested
RUN echo tested > /out/report

FROM localhost/busybox
COPY --from=tested /out/ /opt/
COPY --from=builder /etc/passwd /etc/group /etc/
COPY --from=localhost/busybox /bin/busybox /copied/busybox
COPY --chown=app:app --chmod=640 data.txt /owned
COPY --chown=1234 data.txt /numeric
CMD ["cat", "/opt/bin"]
`,
		"data.txt": "data\n",
	})
	tag := "localhost/e2e-build-multi:latest"
	removeImages(t, tag, "localhost/e2e-build-target:latest")
	buildOK(t, "-t", tag, ctx)
	got := must(t, "run", "--rm", tag, "sh", "-c", "cat /opt/bin /opt/report; stat -c '%u:%g %a' /owned /numeric; test -x /copied/busybox && echo copied")
	want := "compiled\ntested\n4321:4321 640\n1234:1234 644\ncopied"
	if got != want {
		t.Errorf("multi-stage image:\n%s\nwant:\n%s", got, want)
	}
	buildOK(t, "--target", "builder", "-t", "localhost/e2e-build-target:latest", ctx)
	if r := skiff(t, "run", "--rm", "localhost/e2e-build-target:latest", "cat", "/out/report"); r.code == 0 {
		t.Errorf("--target builder has the later stage's file: %s", r)
	}
}

// TestBuildFailures checks that bad input and a failing RUN end with
// exit code 1 and an error naming the file and line, and leave no image
// and nothing of the build behind.
func TestBuildFailures(t *testing.T) {
	before := must(t, "images", "-a", "-q", "--no-trunc")
	for _, tc := range []struct {
		name, df string
		want     []string
	}{
		{"failing RUN", "FROM localhost/busybox\nRUN echo about to fail\nRUN exit 3\n",
			[]string{"Dockerfile:3", "[stage-0 3/3] RUN exit 3", `process "/bin/sh -c exit 3" did not complete successfully: exit code: 3`}},
		{"unknown instruction", "FROM localhost/busybox\nFOO bar\n", []string{"Dockerfile:2", "unknown instruction: FOO"}},
		{"malformed", "FROM localhost/busybox\nCOPY onlyone\n", []string{"Dockerfile:2", "COPY requires at least two arguments"}},
		{"no FROM", "RUN true\n", []string{"Dockerfile:1"}},
		{"outside the context", "FROM localhost/busybox\nCOPY ../etc/passwd /x\n", []string{"Dockerfile:2", "outside the build context"}},
		{"missing file", "FROM localhost/busybox\nCOPY nothere.txt /x\n", []string{"Dockerfile:2", `"nothere.txt" not found`}},
		{"stage cycle", "FROM localhost/busybox AS a\nCOPY --from=b /x /x\nFROM localhost/busybox AS b\nCOPY --from=a /y /y\n", []string{"Dockerfile:2", "circular dependency detected on stage: b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := buildContext(t, map[string]string{"Dockerfile": tc.df})
			r := skiff(t, "build", "-t", "localhost/e2e-build-fail:latest", ctx)
			if r.code != 1 {
				t.Errorf("exit code %d, want 1 as docker build: %s", r.code, r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q: %s", w, r.stderr)
				}
			}
			if r.stdout != "" {
				t.Errorf("a failed build printed %q on stdout", r.stdout)
			}
		})
	}
	if after := must(t, "images", "-a", "-q", "--no-trunc"); after != before {
		t.Errorf("failed builds changed the images:\nbefore %q\nafter  %q", before, after)
	}
	if left := buildLeftovers(t); len(left) > 0 {
		t.Errorf("failed builds left:\n%s", strings.Join(left, "\n"))
	}
	if r := skiff(t, "build", "-f", "/nonexistent/Dockerfile", t.TempDir()); r.code != 1 || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("missing Dockerfile: %s", r)
	}
}

// TestBuildConfigAndSave checks the config a build writes, as skiff save
// exports it: what inspect shows and what only the config blob holds
// (HEALTHCHECK, ONBUILD, history).
func TestBuildConfigAndSave(t *testing.T) {
	ctx := buildContext(t, map[string]string{
		"Dockerfile": `FROM localhost/busybox
ENTRYPOINT ["/bin/echo"]
CMD ["from", "cmd"]
EXPOSE 8080 53/udp
VOLUME /data
STOPSIGNAL SIGINT
LABEL org.example.name=demo
HEALTHCHECK --interval=5s CMD true
ONBUILD RUN echo child > /onbuild-ran
RUN touch /marker
`,
		"stdin.Dockerfile": "unused",
	})
	tag := "localhost/e2e-build-config:latest"
	removeImages(t, tag)
	buildOK(t, "--label", "from.cli=yes", "-t", tag, ctx)
	if got := must(t, "run", "--rm", tag); got != "from cmd" {
		t.Errorf("ENTRYPOINT + CMD print %q", got)
	}
	got := must(t, "image", "inspect", "--format", "{{json .Config.ExposedPorts}} {{json .Config.Volumes}} {{.Config.StopSignal}} {{json .Config.Labels}}", tag)
	for _, w := range []string{`"8080/tcp"`, `"53/udp"`, `"/data"`, "SIGINT", `"org.example.name":"demo"`, `"from.cli":"yes"`} {
		if !strings.Contains(got, w) {
			t.Errorf("inspect %q lacks %s", got, w)
		}
	}

	archive := filepath.Join(t.TempDir(), "built.tar")
	must(t, "save", "-o", archive, tag)
	cfg := savedConfig(t, archive)
	if h := cfg.Config.Healthcheck; h == nil || strings.Join(h.Test, " ") != "CMD-SHELL true" || h.Interval != 5e9 {
		t.Errorf("saved healthcheck %+v", h)
	}
	if strings.Join(cfg.Config.OnBuild, "|") != "RUN echo child > /onbuild-ran" {
		t.Errorf("saved onbuild %q", cfg.Config.OnBuild)
	}
	last := cfg.History[len(cfg.History)-1]
	if last.CreatedBy != "RUN /bin/sh -c touch /marker" || last.EmptyLayer {
		t.Errorf("last history entry %+v", last)
	}
	empty := 0
	for _, h := range cfg.History {
		if h.EmptyLayer {
			empty++
		}
	}
	if layers := len(cfg.RootFS.DiffIDs); layers != len(cfg.History)-empty {
		t.Errorf("%d layers but %d history entries with a layer", layers, len(cfg.History)-empty)
	}

	// -f - reads the Dockerfile from standard input; the built image
	// runs its base's ONBUILD trigger.
	r := skiffIn(t, "FROM "+tag+"\n", "build", "-q", "-f", "-", ctx)
	if r.code != 0 {
		t.Fatalf("build -f -: %s", r)
	}
	child := strings.TrimSpace(r.stdout)
	removeImages(t, child)
	if r.stderr != "" {
		t.Errorf("-q printed progress: %q", r.stderr)
	}
	if got := must(t, "run", "--rm", "--entrypoint", "cat", child, "/onbuild-ran"); got != "child" {
		t.Errorf("the base's ONBUILD trigger did not run: %q", got)
	}
}

type savedImageConfig struct {
	Config struct {
		Healthcheck *struct {
			Test     []string
			Interval int64
		}
		OnBuild []string
	} `json:"config"`
	History []struct {
		CreatedBy  string `json:"created_by"`
		EmptyLayer bool   `json:"empty_layer"`
	} `json:"history"`
	RootFS struct {
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
}

// savedConfig reads the image config out of a docker-save archive.
func savedConfig(t *testing.T, archive string) savedImageConfig {
	t.Helper()
	files := map[string][]byte{}
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Size < 1<<20 {
			data, _ := io.ReadAll(tr)
			files[hdr.Name] = data
		}
	}
	var manifest []struct{ Config string }
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("manifest.json: %v %s", err, files["manifest.json"])
	}
	var cfg savedImageConfig
	if err := json.Unmarshal(files[manifest[0].Config], &cfg); err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// TestBuildAdd checks that ADD extracts a local tarball and, with the
// native driver (a machine does not reach the test's loopback server),
// downloads a URL.
func TestBuildAdd(t *testing.T) {
	var tgz bytes.Buffer
	zw := gzip.NewWriter(&tgz)
	tw := tar.NewWriter(zw)
	for name, body := range map[string]string{"pkg/a.txt": "from the tarball\n", "pkg/sub/b.txt": "b\n"} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	df := "FROM localhost/busybox\nADD pkg.tar.gz /opt/\n"
	check := "cat /opt/pkg/a.txt /opt/pkg/sub/b.txt"
	want := "from the tarball\nb"
	if driver() == "native" {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "downloaded\n")
		}))
		t.Cleanup(srv.Close)
		df += "ADD " + srv.URL + "/files/tool.sh /usr/local/bin/\n"
		check += "; cat /usr/local/bin/tool.sh; stat -c %a /usr/local/bin/tool.sh"
		want += "\ndownloaded\n600"
	}
	ctx := buildContext(t, map[string]string{"Dockerfile": df, "pkg.tar.gz": tgz.String()})
	tag := "localhost/e2e-build-add:latest"
	removeImages(t, tag)
	buildOK(t, "-t", tag, ctx)
	if got := must(t, "run", "--rm", tag, "sh", "-c", check); got != want {
		t.Errorf("ADD gave:\n%s\nwant:\n%s", got, want)
	}
}

// TestBuildKeepsUserImages builds an image whose steps' parent is an
// image the user has: the build mounts it but must not remove it.
func TestBuildKeepsUserImages(t *testing.T) {
	base := "localhost/e2e-build-parent:latest"
	child := "localhost/e2e-build-child:latest"
	removeImages(t, base, child)
	ctx := buildContext(t, map[string]string{"Dockerfile": "FROM localhost/busybox\nRUN echo parent > /p\n"})
	parentID, _ := buildOK(t, "-t", base, ctx)
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM localhost/busybox\nRUN echo parent > /p\nRUN cat /p > /c\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	buildOK(t, "-t", child, ctx)
	if got := must(t, "image", "inspect", "--format", "{{.Id}}", base); got != parentID {
		t.Errorf("the parent image is %q after the child's build, want %s", got, parentID)
	}
	if got := must(t, "run", "--rm", child, "cat", "/c"); got != "parent" {
		t.Errorf("child has %q", got)
	}
}

// TestBuildPull builds FROM an image the store lacks, on a registry that
// wants a login: the build pulls it with the credentials the host holds,
// and --pull pulls again. (Native driver: a machine does not reach the
// test's loopback registry.)
func TestBuildPull(t *testing.T) {
	if driver() != "native" {
		t.Skip("the registry listens on the host's loopback, which a machine does not reach")
	}
	dockerConfig(t)
	reg := startRegistry(t, "builder", "s3cret")
	if r := skiffIn(t, "s3cret\n", "login", "-u", "builder", "--password-stdin", reg); r.code != 0 {
		t.Fatalf("login: %s", r)
	}
	base := reg + "/busybox:build-e2e"
	must(t, "tag", busybox, base)
	must(t, "push", base)
	must(t, "rmi", base)
	tag := "localhost/e2e-build-pulled:latest"
	removeImages(t, tag, base)
	ctx := buildContext(t, map[string]string{"Dockerfile": "ARG REG\nFROM ${REG}/busybox:build-e2e\nRUN echo pulled > /p\n"})
	_, out := buildOK(t, "--build-arg", "REG="+reg, "-t", tag, ctx)
	if !strings.Contains(out, "pulling "+base) {
		t.Errorf("a missing base was not pulled:\n%s", out)
	}
	if got := must(t, "run", "--rm", tag, "cat", "/p"); got != "pulled" {
		t.Errorf("image has %q", got)
	}
	if _, out := buildOK(t, "--build-arg", "REG="+reg, "-t", tag, ctx); strings.Contains(out, "pulling") {
		t.Errorf("a present base was pulled without --pull:\n%s", out)
	}
	if _, out := buildOK(t, "--pull", "--build-arg", "REG="+reg, "-t", tag, ctx); !strings.Contains(out, "pulling "+base) {
		t.Errorf("--pull did not pull:\n%s", out)
	}
	must(t, "logout", reg)
	if r := skiff(t, "build", "--pull", "--build-arg", "REG="+reg, ctx); r.code != 1 || !strings.Contains(r.stderr, "Dockerfile:2") {
		t.Errorf("a pull without credentials: %s", r)
	}
}

// TestBuildHeredoc runs a RUN here-document as a shell script and
// writes COPY here-documents as files, expanded or not as quoted.
func TestBuildHeredoc(t *testing.T) {
	ctx := buildContext(t, map[string]string{"Dockerfile": `FROM localhost/busybox
ENV NAME=heredoc
RUN <<EOF
set -e
echo "script ran" > /script
echo second line >> /script
EOF
COPY <<EOF /expanded.txt
hello $NAME
EOF
COPY <<"EOF" /literal.txt
hello $NAME
EOF
`})
	tag := "localhost/e2e-build-heredoc:latest"
	removeImages(t, tag)
	buildOK(t, "-t", tag, ctx)
	got := must(t, "run", "--rm", tag, "cat", "/script", "/expanded.txt", "/literal.txt")
	if want := "script ran\nsecond line\nhello heredoc\nhello $NAME"; got != want {
		t.Errorf("here-documents gave:\n%s\nwant:\n%s", got, want)
	}
}

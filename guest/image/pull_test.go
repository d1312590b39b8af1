package image

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// testRegistry is go-containerregistry's in-memory registry behind a
// handler that counts blob downloads and can slow them down.
type testRegistry struct {
	host string
	mu   sync.Mutex
	gets map[string]int
	// slow, when set, makes blob downloads trickle.
	slow atomic.Bool
}

func newTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	r := &testRegistry{gets: map[string]int{}}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/blobs/sha256:") {
			d := req.URL.Path[strings.LastIndex(req.URL.Path, "/")+1:]
			r.mu.Lock()
			r.gets[d]++
			r.mu.Unlock()
			if r.slow.Load() {
				reg.ServeHTTP(&slowWriter{ResponseWriter: w, ctx: req.Context()}, req)
				return
			}
		}
		reg.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

func (r *testRegistry) blobGets(d string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gets[d]
}

// slowWriter sends a body in 64 KiB pieces, 5 ms apart.
type slowWriter struct {
	http.ResponseWriter
	ctx context.Context
}

func (w *slowWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), 64<<10)
		m, err := w.ResponseWriter.Write(p[:k])
		n += m
		if err != nil {
			return n, err
		}
		if f, ok := w.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		p = p[k:]
		select {
		case <-w.ctx.Done():
			return n, w.ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return n, nil
}

func (r *testRegistry) push(t *testing.T, repo string, img v1.Image) string {
	t.Helper()
	ref, err := name.ParseReference(r.host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	must(t, remote.Write(ref, img))
	d, err := img.Digest()
	must(t, err)
	return d.String()
}

func randomLayer(t testing.TB, size int, c compression.Compression) v1.Layer {
	t.Helper()
	data := make([]byte, size)
	_, _ = rand.Read(data)
	tb := layerTar(t, tarEntry{"random.bin", string(data)})
	opts := []tarball.LayerOption{tarball.WithCompression(c)}
	if c == compression.ZStd {
		opts = append(opts, tarball.WithMediaType(types.OCILayerZStd))
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(tb)), nil }, opts...)
	must(t, err)
	return l
}

func pull(t *testing.T, s *Store, ref string, o PullOptions) *PullResult {
	t.Helper()
	res, err := s.Pull(context.Background(), ref, o)
	if err != nil {
		t.Fatalf("Pull %s: %v", ref, err)
	}
	return res
}

func TestPullByTagAndDigest(t *testing.T) {
	s, _ := openStore(t)
	r := newTestRegistry(t)
	img := imageOf(t, "hello", layerOf(t, tarEntry{"etc/", ""}, tarEntry{"etc/hi", "hi"}), randomLayer(t, 4096, compression.GZip))
	d := r.push(t, "app", img)

	res := pull(t, s, r.host+"/app", PullOptions{})
	if res.ID != imageID(t, img) || res.Digest != d || !res.Updated {
		t.Errorf("pull by tag: %+v, want ID %s digest %s", res, imageID(t, img), d)
	}
	got := get(t, s, r.host+"/app:latest")
	if len(got.RepoDigests) != 1 || got.RepoDigests[0] != r.host+"/app@"+d {
		t.Errorf("RepoDigests %v", got.RepoDigests)
	}
	if got.ManifestDigest != d || got.Config.GetExposedPorts()[0] != "80/tcp" || got.Config.GetVolumes()[0] != "/data" {
		t.Errorf("image %+v", got)
	}
	if again := pull(t, s, r.host+"/app", PullOptions{}); again.Updated {
		t.Errorf("second pull reports an update")
	}

	s2, _ := openStore(t)
	res = pull(t, s2, r.host+"/app@"+d, PullOptions{})
	if res.ID != imageID(t, img) {
		t.Errorf("pull by digest got %s", res.ID)
	}
	byDigest := get(t, s2, r.host+"/app@"+d)
	if len(byDigest.RepoTags) != 0 {
		t.Errorf("pull by digest tagged the image: %v", byDigest.RepoTags)
	}
}

func TestPullMediaTypes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		manifest types.MediaType
		comp     compression.Compression
	}{
		{"docker gzip", types.DockerManifestSchema2, compression.GZip},
		{"oci gzip", types.OCIManifestSchema1, compression.GZip},
		{"oci zstd", types.OCIManifestSchema1, compression.ZStd},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openStore(t)
			r := newTestRegistry(t)
			img := mutate.MediaType(imageOf(t, "x", randomLayer(t, 1000, tc.comp)), tc.manifest)
			if tc.manifest == types.OCIManifestSchema1 {
				img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
			}
			r.push(t, "m", img)
			res := pull(t, s, r.host+"/m", PullOptions{})
			if res.ID != imageID(t, img) {
				t.Errorf("ID %s, want %s", res.ID, imageID(t, img))
			}
		})
	}
}

func TestPullPicksPlatform(t *testing.T) {
	s, _ := openStore(t)
	r := newTestRegistry(t)
	amd := imageOf(t, "amd64", layerOf(t, tarEntry{"a", "a"}))
	arm := imageOf(t, "arm64", layerOf(t, tarEntry{"b", "b"}))
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
	)
	ref, err := name.ParseReference(r.host + "/multi")
	must(t, err)
	must(t, remote.WriteIndex(ref, idx))
	top, err := idx.Digest()
	must(t, err)

	res := pull(t, s, r.host+"/multi", PullOptions{Platform: "linux/arm64"})
	if res.ID != imageID(t, arm) || res.Digest != top.String() {
		t.Errorf("linux/arm64: got %+v, want ID %s", res, imageID(t, arm))
	}
	if res := pull(t, s, r.host+"/multi", PullOptions{Platform: "linux/amd64"}); res.ID != imageID(t, amd) {
		t.Errorf("linux/amd64: got %s", res.ID)
	}
	_, err = s.Pull(context.Background(), r.host+"/multi", PullOptions{Platform: "linux/s390x"})
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "linux/arm64/v8") {
		t.Errorf("missing platform: %v", err)
	}
}

func TestPullSharedLayerFetchedOnce(t *testing.T) {
	s, root := openStore(t)
	r := newTestRegistry(t)
	shared := randomLayer(t, 2<<20, compression.GZip)
	a := imageOf(t, "a", shared, layerOf(t, tarEntry{"a", "a"}))
	b := imageOf(t, "b", shared, layerOf(t, tarEntry{"b", "b"}))
	r.push(t, "a", a)
	r.push(t, "b", b)
	sd, err := shared.Digest()
	must(t, err)
	r.slow.Store(true)

	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = s.Pull(context.Background(), r.host+"/"+[]string{"a", "b"}[i%2], PullOptions{})
		})
	}
	wg.Wait()
	must(t, errors.Join(errs...))
	if n := r.blobGets(sd.String()); n != 1 {
		t.Errorf("shared layer fetched %d times, want once", n)
	}
	get(t, s, r.host+"/a")
	get(t, s, r.host+"/b")
	if names := dirNames(t, root+"/tmp"); len(names) != 0 {
		t.Errorf("tmp holds %v", names)
	}
}

func TestPullInterrupted(t *testing.T) {
	s, root := openStore(t)
	r := newTestRegistry(t)
	small := layerOf(t, tarEntry{"small", "s"})
	big := randomLayer(t, 8<<20, compression.GZip)
	img := imageOf(t, "big", small, big)
	r.push(t, "big", img)
	sd, _ := small.Digest()
	bd, _ := big.Digest()
	r.slow.Store(true)

	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	_, err := s.Pull(ctx, r.host+"/big", PullOptions{Progress: func(p Progress) {
		if p.ID == shortID(bd.String()) && p.Status == "Downloading" && p.Current > 1<<20 {
			once.Do(cancel)
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted pull: %v", err)
	}
	if imgs, _ := s.List(context.Background()); len(imgs) != 0 {
		t.Errorf("an interrupted pull lists %d images", len(imgs))
	}
	if names := dirNames(t, root+"/tmp"); len(names) != 0 {
		t.Errorf("tmp holds %v", names)
	}

	// The agent restarts: the store is opened again.
	s2, err := Open(root)
	must(t, err)
	r.slow.Store(false)
	res := pull(t, s2, r.host+"/big", PullOptions{})
	if res.ID != imageID(t, img) {
		t.Errorf("ID %s", res.ID)
	}
	if n := r.blobGets(sd.String()); n != 1 {
		t.Errorf("the completed layer was fetched %d times, want once", n)
	}
}

func TestPullErrors(t *testing.T) {
	s, root := openStore(t)
	r := newTestRegistry(t)
	r.push(t, "there", imageOf(t, "x", layerOf(t, tarEntry{"x", "x"})))
	for _, tc := range []struct {
		ref   string
		check func(error) bool
		want  string
	}{
		{r.host + "/there:nope", errdefs.IsNotFound, "not found"},
		{r.host + "/absent", errdefs.IsNotFound, "not found"},
		{"UPPER/case", errdefs.IsInvalidArgument, "invalid reference format"},
		{"127.0.0.1:1/x", errdefs.IsUnavailable, "cannot reach registry"},
	} {
		_, err := s.Pull(context.Background(), tc.ref, PullOptions{})
		if err == nil || !tc.check(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Pull %s: %v, want %q", tc.ref, err, tc.want)
		}
	}
	if names := dirNames(t, root+"/tmp"); len(names) != 0 {
		t.Errorf("tmp holds %v", names)
	}
}

func TestPushPullRoundTrip(t *testing.T) {
	s, _ := openStore(t)
	r := newTestRegistry(t)
	img := imageOf(t, "rt", layerOf(t, tarEntry{"etc/", ""}, tarEntry{"etc/x", "x"}))
	load(t, s, dockerSave(t, map[string]v1.Image{r.host + "/rt:v1": img}))
	res, err := s.Push(context.Background(), r.host+"/rt:v1", PushOptions{})
	must(t, err)
	if got := get(t, s, r.host+"/rt:v1"); len(got.RepoDigests) != 1 || !strings.HasSuffix(got.RepoDigests[0], res.Digest) {
		t.Errorf("after push RepoDigests %v, want @%s", got.RepoDigests, res.Digest)
	}
	s2, _ := openStore(t)
	if got := pull(t, s2, r.host+"/rt:v1", PullOptions{}); got.ID != imageID(t, img) || got.Digest != res.Digest {
		t.Errorf("pulled back %+v, pushed %s", got, res.Digest)
	}
	// A pulled image pushes back byte for byte, under another name.
	must(t, s2.Tag(context.Background(), r.host+"/rt:v1", r.host+"/copy:v1"))
	res2, err := s2.Push(context.Background(), r.host+"/copy:v1", PushOptions{})
	must(t, err)
	if res2.Digest != res.Digest {
		t.Errorf("push of a pulled image changed its digest: %s, was %s", res2.Digest, res.Digest)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	s, _ := openStore(t)
	r := newTestRegistry(t)
	pulled := imageOf(t, "p", randomLayer(t, 1000, compression.ZStd))
	r.push(t, "p", pulled)
	pull(t, s, r.host+"/p", PullOptions{})
	loaded := imageOf(t, "l", layerOf(t, tarEntry{"l", "l"}))
	load(t, s, dockerSave(t, map[string]v1.Image{"loaded:1": loaded}))

	var buf bytes.Buffer
	must(t, s.Save(context.Background(), []string{r.host + "/p", "loaded:1"}, &buf))

	s2, _ := openStore(t)
	names, _ := load(t, s2, buf.Bytes())
	if len(names) != 2 {
		t.Errorf("loaded %v", names)
	}
	if get(t, s2, r.host+"/p").ID != imageID(t, pulled) || get(t, s2, "loaded:1").ID != imageID(t, loaded) {
		t.Error("IDs changed in the round trip")
	}
	// go-containerregistry's docker-save reader takes it too.
	tag, err := name.NewTag("loaded:1")
	must(t, err)
	a, err := tarball.Image(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil }, &tag)
	if err == nil {
		_, err = a.ConfigName()
	}
	if err != nil {
		t.Errorf("docker-save side unreadable: %v", err)
	}
}

func TestImport(t *testing.T) {
	s, _ := openStore(t)
	tb := layerTar(t, tarEntry{"bin/", ""}, tarEntry{"bin/sh", "#!"})
	id, err := s.Import(context.Background(), bytes.NewReader(tb), ImportOptions{
		Reference: "imported:v1",
		Changes:   []string{`CMD ["/bin/sh"]`, "ENV A=1 B=2", "WORKDIR /w", "EXPOSE 80", "USER nobody", "ENTRYPOINT echo hi"},
		Message:   "hello",
	})
	must(t, err)
	img := get(t, s, "imported:v1")
	c := img.Config
	if img.ID != id || len(img.Layers) != 1 || c.GetCmd()[0] != "/bin/sh" || c.GetWorkingDir() != "/w" ||
		c.GetUser() != "nobody" || c.GetExposedPorts()[0] != "80/tcp" || len(c.GetEntrypoint()) != 3 ||
		!strings.Contains(strings.Join(c.GetEnv(), " "), "B=2") {
		t.Errorf("imported image %+v", img)
	}
	if _, err := s.Import(context.Background(), bytes.NewReader(tb), ImportOptions{Changes: []string{"RUN x"}}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("RUN change: %v", err)
	}
}

func TestPrune(t *testing.T) {
	s, root := openStore(t)
	a := imageOf(t, "a", layerOf(t, tarEntry{"a", "a"}))
	b := imageOf(t, "b", layerOf(t, tarEntry{"b", "b"}))
	load(t, s, dockerSave(t, map[string]v1.Image{"a:1": a}))
	load(t, s, dockerSave(t, map[string]v1.Image{"b:1": b}))
	// b loses its tag: dangling.
	load(t, s, dockerSave(t, map[string]v1.Image{"b:1": a}))
	res, err := s.Prune(context.Background(), false, nil, nil)
	must(t, err)
	if len(res.Deleted) == 0 || res.Deleted[0] != imageID(t, b) || res.SpaceReclaimed == 0 {
		t.Errorf("prune: %+v", res)
	}
	res, err = s.Prune(context.Background(), true, nil, func(id string) bool { return id == imageID(t, a) })
	must(t, err)
	if len(res.Deleted) != 0 {
		t.Errorf("prune -a removed an image in use: %+v", res)
	}
	res, err = s.Prune(context.Background(), true, nil, nil)
	must(t, err)
	if len(res.Deleted) == 0 {
		t.Errorf("prune -a: %+v", res)
	}
	checkEmpty(t, s, root)
}

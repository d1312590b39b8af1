package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// oldDockerSave builds the layout docker wrote before version 25 by
// hand: <id>/layer.tar files, uncompressed, the second one a symlink to
// the first, since the image has the same layer twice.
func oldDockerSave(t *testing.T, tag string) ([]byte, string) {
	t.Helper()
	layer := layerTar(t, tarEntry{"hello.txt", "hi"})
	diffID := digestOf(layer)
	cfg, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux", "created": "2020-02-02T00:00:00Z",
		"config": map[string]any{"Cmd": []string{"cat", "/hello.txt"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{diffID, diffID}},
	})
	id := digestOf(cfg)
	manifest, _ := json.Marshal([]map[string]any{{
		"Config": hexOf(id) + ".json", "RepoTags": []string{tag},
		"Layers": []string{"aaaa/layer.tar", "bbbb/layer.tar"},
	}})
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(hdr *tar.Header, body []byte) {
		hdr.Size = int64(len(body))
		if hdr.Typeflag == 0 {
			hdr.Typeflag, hdr.Mode = tar.TypeReg, 0o644
		}
		must(t, tw.WriteHeader(hdr))
		_, err := tw.Write(body)
		must(t, err)
	}
	add(&tar.Header{Name: "aaaa/", Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	add(&tar.Header{Name: "aaaa/layer.tar"}, layer)
	add(&tar.Header{Name: "aaaa/VERSION"}, []byte("1.0"))
	add(&tar.Header{Name: "bbbb/", Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	add(&tar.Header{Name: "bbbb/layer.tar", Typeflag: tar.TypeSymlink, Linkname: "../aaaa/layer.tar"}, nil)
	add(&tar.Header{Name: hexOf(id) + ".json"}, cfg)
	add(&tar.Header{Name: "manifest.json"}, manifest)
	add(&tar.Header{Name: "repositories"}, []byte("{}"))
	must(t, tw.Close())
	return buf.Bytes(), id
}

func TestLoadFormats(t *testing.T) {
	base := layerOf(t, tarEntry{"etc/", ""}, tarEntry{"etc/os-release", "skiff"})
	img := imageOf(t, "sh", base, layerOf(t, tarEntry{"app", "app"}))
	zdata := layerTar(t, tarEntry{"z", "zstd"})
	zl, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(zdata)), nil
	}, tarball.WithCompression(compression.ZStd))
	if err != nil {
		t.Fatal(err)
	}
	zimg := imageOf(t, "z", zl)
	old, oldID := oldDockerSave(t, "old:1")
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, err := zw.Write(b)
		must(t, err)
		must(t, zw.Close())
		return buf.Bytes()
	}
	other := imageOf(t, "other-arch", layerOf(t, tarEntry{"other", "x"}))

	tests := []struct {
		name    string
		archive []byte
		id      string
		want    []string // loaded
		lines   []string
	}{
		{
			name:    "docker save with gzip layers",
			archive: dockerSave(t, map[string]v1.Image{"busybox": img}),
			id:      imageID(t, img), want: []string{"busybox:latest"},
			lines: []string{"Loaded image: busybox:latest"},
		},
		{
			name:    "docker save with zstd layers",
			archive: dockerSave(t, map[string]v1.Image{"localhost/z:1": zimg}),
			id:      imageID(t, zimg), want: []string{"localhost/z:1"},
		},
		{
			name:    "old docker save layout with a linked layer",
			archive: old, id: oldID, want: []string{"old:1"},
		},
		{
			name:    "gzip-compressed archive",
			archive: gz(dockerSave(t, map[string]v1.Image{"busybox": img})),
			id:      imageID(t, img), want: []string{"busybox:latest"},
		},
		{
			name: "OCI layout named by containerd annotation",
			archive: ociArchive(t, func(p layout.Path) {
				must(t, p.AppendImage(img, layout.WithAnnotations(map[string]string{
					annotationContainerdName: "docker.io/library/busybox:1.36", annotationRefName: "1.36"})))
			}),
			id: imageID(t, img), want: []string{"busybox:1.36"},
		},
		{
			name: "OCI layout named by ref.name",
			archive: ociArchive(t, func(p layout.Path) {
				must(t, p.AppendImage(img, layout.WithAnnotations(map[string]string{annotationRefName: "ghcr.io/skiff/app:v2"})))
			}),
			id: imageID(t, img), want: []string{"ghcr.io/skiff/app:v2"},
		},
		{
			name: "OCI layout with a bare tag is untagged",
			archive: ociArchive(t, func(p layout.Path) {
				must(t, p.AppendImage(img, layout.WithAnnotations(map[string]string{annotationRefName: "latest"})))
			}),
			id: imageID(t, img), want: []string{imageID(t, img)},
			lines: []string{"Loaded image ID: " + imageID(t, img)},
		},
		{
			name: "OCI layout with a multi-platform index",
			archive: ociArchive(t, func(p layout.Path) {
				idx := mutate.AppendManifests(empty.Index,
					mutate.IndexAddendum{Add: other, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "s390x"}}},
					mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}}},
				)
				must(t, p.AppendIndex(idx, layout.WithAnnotations(map[string]string{annotationContainerdName: "docker.io/library/multi:latest"})))
			}),
			id: imageID(t, img), want: []string{"multi:latest"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openStore(t)
			loaded, lines := load(t, s, tc.archive)
			if !slices.Equal(loaded, tc.want) {
				t.Errorf("loaded %v, want %v", loaded, tc.want)
			}
			if tc.lines != nil && !slices.Equal(lines, tc.lines) {
				t.Errorf("progress %q, want %q", lines, tc.lines)
			}
			got := get(t, s, tc.want[0])
			if got.ID != tc.id {
				t.Errorf("ID %s, want %s", got.ID, tc.id)
			}
			if len(got.Layers) != len(got.DiffIDs) || len(got.Layers) == 0 {
				t.Fatalf("layers %v, diff IDs %v", got.Layers, got.DiffIDs)
			}
			for _, l := range got.Layers {
				if fi, err := os.Stat(l); err != nil || !fi.IsDir() || !filepath.IsAbs(l) {
					t.Errorf("layer dir %s: %v", l, err)
				}
			}
			if got.Size <= 0 || got.OS != "linux" {
				t.Errorf("size %d os %q", got.Size, got.OS)
			}
			if n := s.Count(); n != 1 {
				t.Errorf("Count %d, want 1", n)
			}
		})
	}
}

func TestLoadedImageContent(t *testing.T) {
	s, _ := openStore(t)
	img := imageOf(t, "sh", layerOf(t, tarEntry{"bin/", ""}, tarEntry{"bin/sh", "#!"}, tarEntry{"bin/ash", "->sh"}))
	load(t, s, dockerSave(t, map[string]v1.Image{"localhost/busybox:latest": img}))
	got := get(t, s, "localhost/busybox")
	if !slices.Equal(got.RepoTags, []string{"localhost/busybox:latest"}) {
		t.Errorf("RepoTags %v", got.RepoTags)
	}
	c := got.Config
	if !slices.Equal(c.Cmd, []string{"sh"}) || c.WorkingDir != "/w" || c.User != "1000" || c.StopSignal != "SIGTERM" ||
		!slices.Equal(c.ExposedPorts, []string{"80/tcp"}) || !slices.Equal(c.Volumes, []string{"/data"}) || c.Labels["team"] != "skiff" ||
		!slices.Equal(c.Env, []string{"PATH=/bin"}) {
		t.Errorf("config %v", c)
	}
	if got.Created.Year() != 2024 || got.Architecture != "amd64" {
		t.Errorf("created %v arch %s", got.Created, got.Architecture)
	}
	if target, err := os.Readlink(filepath.Join(got.Layers[0], "bin/ash")); err != nil || target != "sh" {
		t.Errorf("bin/ash -> %q, %v", target, err)
	}
	if body, err := os.ReadFile(filepath.Join(got.Layers[0], "bin/sh")); err != nil || string(body) != "#!" {
		t.Errorf("bin/sh = %q, %v", body, err)
	}
}

func TestLoadSharesLayers(t *testing.T) {
	s, root := openStore(t)
	base := layerOf(t, tarEntry{"base", "shared"})
	a := imageOf(t, "a", base, layerOf(t, tarEntry{"a", "a"}))
	b := imageOf(t, "b", base, layerOf(t, tarEntry{"b", "b"}))
	load(t, s, dockerSave(t, map[string]v1.Image{"a": a}))
	load(t, s, dockerSave(t, map[string]v1.Image{"b": b}))
	ia, ib := get(t, s, "a"), get(t, s, "b")
	if ia.Layers[0] != ib.Layers[0] {
		t.Errorf("base layer unpacked twice: %s and %s", ia.Layers[0], ib.Layers[0])
	}
	if ia.Layers[1] == ib.Layers[1] {
		t.Errorf("different top layers share %s", ia.Layers[1])
	}
	if n := len(dirNames(t, filepath.Join(root, "layers"))); n != 3 {
		t.Errorf("%d layer directories, want 3", n)
	}
}

func TestLoadAgainMovesTag(t *testing.T) {
	s, _ := openStore(t)
	v1img := imageOf(t, "one", layerOf(t, tarEntry{"v", "1"}))
	v2img := imageOf(t, "two", layerOf(t, tarEntry{"v", "2"}))
	load(t, s, dockerSave(t, map[string]v1.Image{"app": v1img}))
	_, lines := load(t, s, dockerSave(t, map[string]v1.Image{"app": v2img}))
	want := []string{
		fmt.Sprintf("The image app:latest already exists, renaming the old one with ID %s to empty string", imageID(t, v1img)),
		"Loaded image: app:latest",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("progress %q, want %q", lines, want)
	}
	if old := get(t, s, imageID(t, v1img)); len(old.RepoTags) != 0 {
		t.Errorf("old image still tagged %v", old.RepoTags)
	}
	if s.Count() != 2 {
		t.Errorf("Count %d, want 2", s.Count())
	}
	// Loading the same archive twice changes nothing.
	load(t, s, dockerSave(t, map[string]v1.Image{"app": v2img}))
	if s.Count() != 2 {
		t.Errorf("Count %d after a reload, want 2", s.Count())
	}
}

// checkEmpty fails unless the store at root lists nothing and holds no
// temp files, layers or blobs.
func checkEmpty(t *testing.T, s *Store, root string) {
	t.Helper()
	if imgs, _ := s.List(context.Background()); len(imgs) != 0 {
		t.Errorf("List has %d images", len(imgs))
	}
	for _, d := range []string{"tmp", "layers", "blobs/sha256"} {
		if names := dirNames(t, filepath.Join(root, d)); len(names) != 0 {
			t.Errorf("%s holds %v", d, names)
		}
	}
}

func TestLoadBadArchives(t *testing.T) {
	img, err := random.Image(4096, 3)
	if err != nil {
		t.Fatal(err)
	}
	good := dockerSave(t, map[string]v1.Image{"rand": img})
	old, _ := oldDockerSave(t, "old:1")
	badDiff := bytes.Replace(old, []byte(`"diff_ids":["sha256:`), []byte(`"diff_ids":["sha256:0`), 1)
	tests := []struct {
		name    string
		archive []byte
		want    func(error) bool
	}{
		{"truncated half way", good[:len(good)/2], func(err error) bool { return err != nil }},
		{"truncated in the last layer", good[:len(good)-2000], func(err error) bool { return err != nil }},
		{"not a tar", []byte("hello, world"), func(err error) bool { return err != nil }},
		{"empty tar", layerTar(t), errdefs.IsInvalidArgument},
		{"layer does not match its diff ID", badDiff, errdefs.IsInvalidArgument},
		{"layer escapes", dockerSave(t, map[string]v1.Image{"evil": imageOf(t, "x", layerOf(t, tarEntry{"up", "->.."}, tarEntry{"up/evil", "x"}))}), errdefs.IsInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, root := openStore(t)
			_, err := s.Load(context.Background(), bytes.NewReader(tc.archive), nil)
			if !tc.want(err) {
				t.Fatalf("Load: %v", err)
			}
			checkEmpty(t, s, root)
		})
	}
}

func TestLoadConcurrent(t *testing.T) {
	s, root := openStore(t)
	base := layerOf(t, tarEntry{"base", "shared"})
	archives := [][]byte{
		dockerSave(t, map[string]v1.Image{"a": imageOf(t, "a", base, layerOf(t, tarEntry{"a", "a"}))}),
		dockerSave(t, map[string]v1.Image{"b": imageOf(t, "b", base, layerOf(t, tarEntry{"b", "b"}))}),
	}
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Load(context.Background(), bytes.NewReader(archives[i%2]), nil)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if s.Count() != 2 || get(t, s, "a").Layers[0] != get(t, s, "b").Layers[0] {
		t.Errorf("Count %d, base layers %s %s", s.Count(), get(t, s, "a").Layers[0], get(t, s, "b").Layers[0])
	}
	if n := len(dirNames(t, filepath.Join(root, "layers"))); n != 3 {
		t.Errorf("%d layer directories, want 3", n)
	}
	if names := dirNames(t, filepath.Join(root, "tmp")); len(names) != 0 {
		t.Errorf("tmp holds %v", names)
	}
}

func TestLoadCancelled(t *testing.T) {
	s, root := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	img, _ := random.Image(1024, 1)
	if _, err := s.Load(ctx, bytes.NewReader(dockerSave(t, map[string]v1.Image{"r": img})), nil); err == nil {
		t.Fatal("Load with a cancelled context succeeded")
	}
	checkEmpty(t, s, root)
}

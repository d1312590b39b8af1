package image

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/opencontainers/go-digest"
)

// PushOptions are a push's settings.
type PushOptions struct {
	Registry RegistryOptions
	// Progress, when set, is called with each update, from several
	// goroutines at once.
	Progress func(Progress)
}

// PushResult is what a push sent.
type PushResult struct {
	Name   string
	Digest string
	// Size is the manifest's size in bytes, as docker reports it.
	Size int64
}

// Push sends the image named ref to the registry its name points at,
// under that name. The stored manifest and layer blobs are sent as they
// are, so a pulled image keeps its digest; an image loaded from an
// archive with uncompressed layers has them compressed with gzip on
// the way. Blobs the registry has are not sent again.
func (s *Store) Push(ctx context.Context, ref string, o PushOptions) (*PushResult, error) {
	named, rref, err := parseRemote(ref, o.Registry)
	if err != nil {
		return nil, err
	}
	if _, ok := named.(reference.Canonical); ok {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("cannot push a digest reference %s; push a tag", ref))
	}
	report := o.Progress
	if report == nil {
		report = func(Progress) {}
	}
	local, err := s.Get(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("%w; tag an image with this name first: skiff tag IMAGE %s", err, reference.FamiliarString(named))
	}
	work, err := os.MkdirTemp(s.tmpDir(), "push-")
	if err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	defer os.RemoveAll(work)
	img, err := s.pushable(local.ID, work, report, true)
	if err != nil {
		return nil, err
	}
	defer s.unpin(img.pinned)
	report(Progress{Status: "The push refers to repository [" + named.Name() + "]"})
	for _, b := range img.blobs {
		report(Progress{ID: shortID(b.Digest), Status: "Preparing"})
	}
	wimg, err := partial.CompressedToImage(img)
	if err != nil {
		return nil, err
	}
	ropts := append(remoteOptions(ctx, rref, o.Registry), remote.WithJobs(pullJobs))
	if err := remote.Write(rref, wimg, ropts...); err != nil {
		return nil, registryError(err, named, true)
	}
	for _, b := range img.blobs {
		if _, sent := img.sent.Load(b.Digest); sent {
			report(Progress{ID: shortID(b.Digest), Status: "Pushed"})
		} else {
			report(Progress{ID: shortID(b.Digest), Status: "Layer already exists"})
		}
	}
	d := digestOf(img.manifest)
	if err := s.addRepoDigest(local.ID, named, d); err != nil {
		return nil, err
	}
	tag := "latest"
	if t, ok := rref.(name.Tag); ok {
		tag = t.TagStr()
	}
	report(Progress{Status: fmt.Sprintf("%s: digest: %s size: %d", tag, d, len(img.manifest))})
	return &PushResult{Name: named.String(), Digest: d, Size: int64(len(img.manifest))}, nil
}

// addRepoDigest records that name@d is image id, as docker does after a
// push.
func (s *Store) addRepoDigest(id string, named reference.Named, d string) error {
	c, err := reference.WithDigest(reference.TrimNamed(named), digest.Digest(d))
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.st.Images[id]
	if old == nil {
		return nil
	}
	for _, rd := range old.RepoDigests {
		if n, err := reference.ParseNormalizedNamed(rd); err == nil && n.Name() == c.Name() && rd == c.String() {
			return nil
		}
	}
	next := s.st.clone()
	rec := *old
	rec.RepoDigests = append(append([]string(nil), old.RepoDigests...), c.String())
	next.Images[id] = &rec
	return s.commit(next)
}

// storedImage is a stored image as go-containerregistry's writer sees
// it: the manifest and blobs, read from the store.
type storedImage struct {
	config    []byte
	manifest  []byte
	mediaType types.MediaType
	blobs     []blobRecord
	// paths holds each blob's file.
	paths  map[string]string
	pinned []string
	report func(Progress)
	// sent records the blobs the registry asked for.
	sent sync.Map
}

var _ partial.CompressedImageCore = (*storedImage)(nil)

func (i *storedImage) RawConfigFile() ([]byte, error)      { return i.config, nil }
func (i *storedImage) RawManifest() ([]byte, error)        { return i.manifest, nil }
func (i *storedImage) MediaType() (types.MediaType, error) { return i.mediaType, nil }

func (i *storedImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if h.String() == digestOf(i.config) {
		return &storedLayer{img: i, b: blobRecord{Digest: h.String(), Size: int64(len(i.config)), MediaType: string(types.OCIConfigJSON)}, data: i.config}, nil
	}
	for _, b := range i.blobs {
		if b.Digest == h.String() {
			return &storedLayer{img: i, b: b, path: i.paths[b.Digest]}, nil
		}
	}
	return nil, fmt.Errorf("blob %s is not part of the image", h)
}

type storedLayer struct {
	img  *storedImage
	b    blobRecord
	path string
	data []byte
}

func (l *storedLayer) Digest() (v1.Hash, error) { return v1.NewHash(l.b.Digest) }
func (l *storedLayer) Size() (int64, error)     { return l.b.Size, nil }
func (l *storedLayer) MediaType() (types.MediaType, error) {
	return types.MediaType(l.b.MediaType), nil
}

func (l *storedLayer) Compressed() (io.ReadCloser, error) {
	if l.data != nil {
		return io.NopCloser(bytes.NewReader(l.data)), nil
	}
	f, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	l.img.sent.Store(l.b.Digest, true)
	short := shortID(l.b.Digest)
	total := l.b.Size
	report := l.img.report
	progress := throttle(func(n int64) { report(Progress{ID: short, Status: "Pushing", Current: n, Total: total}) })
	return &countingReader{rc: f, progress: progress}, nil
}

type countingReader struct {
	rc       io.ReadCloser
	n        int64
	progress func(int64)
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	r.n += int64(n)
	r.progress(r.n)
	return n, err
}

func (r *countingReader) Close() error { return r.rc.Close() }

// pushable gathers what a push or save of image id sends. The stored
// manifest is used when it lists the stored blobs; otherwise an OCI
// manifest is made, with uncompressed layers compressed into work when
// compress is set. The blobs are pinned; the caller unpins img.pinned.
func (s *Store) pushable(id, work string, report func(Progress), compress bool) (img *storedImage, err error) {
	s.mu.Lock()
	rec := s.st.Images[id]
	if rec == nil {
		s.mu.Unlock()
		return nil, notFound(id)
	}
	img = &storedImage{blobs: append([]blobRecord(nil), rec.Blobs...), paths: map[string]string{}, report: report}
	img.pinned = []string{id}
	if rec.ManifestDigest != "" {
		img.pinned = append(img.pinned, rec.ManifestDigest)
	}
	for _, b := range rec.Blobs {
		img.pinned = append(img.pinned, b.Digest)
	}
	for _, p := range img.pinned {
		s.pins[p]++
	}
	manifestDigest := rec.ManifestDigest
	s.mu.Unlock()
	defer func() {
		if err != nil {
			s.unpin(img.pinned)
		}
	}()
	if len(img.blobs) == 0 {
		return nil, errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("image %s was stored without its layer blobs; pull or load it again to push or save it", shortID(id)))
	}
	if img.config, err = os.ReadFile(s.blobPath(id)); err != nil {
		return nil, fmt.Errorf("read config of image %s: %w", id, err)
	}
	for _, b := range img.blobs {
		img.paths[b.Digest] = s.blobPath(b.Digest)
	}
	if manifestDigest != "" {
		if data, err := os.ReadFile(s.blobPath(manifestDigest)); err == nil && manifestLists(data, img.blobs) {
			img.manifest = data
			m, _ := v1.ParseManifest(bytes.NewReader(data))
			img.mediaType = m.MediaType
			if img.mediaType == "" {
				img.mediaType = types.OCIManifestSchema1
			}
			return img, nil
		}
	}
	for i, b := range img.blobs {
		if !compress || !isUncompressed(b.MediaType) {
			continue
		}
		c, p, err := compressBlob(s.blobPath(b.Digest), work)
		if err != nil {
			return nil, err
		}
		img.blobs[i] = c
		img.paths[c.Digest] = p
	}
	img.manifest, err = ociManifest(img.config, img.blobs)
	img.mediaType = types.OCIManifestSchema1
	return img, err
}

// manifestLists reports whether manifest lists exactly blobs as layers.
func manifestLists(manifest []byte, blobs []blobRecord) bool {
	m, err := v1.ParseManifest(bytes.NewReader(manifest))
	if err != nil || len(m.Layers) != len(blobs) {
		return false
	}
	for i, l := range m.Layers {
		if l.Digest.String() != blobs[i].Digest {
			return false
		}
	}
	return true
}

func isUncompressed(mt string) bool {
	return mt == string(types.OCIUncompressedLayer) || mt == string(types.DockerUncompressedLayer)
}

// ociManifest makes the OCI manifest of an image from its config and
// layer blobs, with the OCI media types of their compressions.
func ociManifest(config []byte, blobs []blobRecord) ([]byte, error) {
	h, _ := v1.NewHash(digestOf(config))
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        v1.Descriptor{MediaType: types.OCIConfigJSON, Digest: h, Size: int64(len(config))},
		Layers:        []v1.Descriptor{},
	}
	for _, b := range blobs {
		lh, err := v1.NewHash(b.Digest)
		if err != nil {
			return nil, err
		}
		mt := types.MediaType(b.MediaType)
		switch mt {
		case types.DockerLayer:
			mt = types.OCILayer
		case types.DockerUncompressedLayer:
			mt = types.OCIUncompressedLayer
		}
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: mt, Digest: lh, Size: b.Size})
	}
	return json.Marshal(m)
}

// compressBlob gzips the file src into dir and describes the result.
func compressBlob(src, dir string) (blobRecord, string, error) {
	in, err := os.Open(src)
	if err != nil {
		return blobRecord{}, "", fmt.Errorf("compress layer: %w", err)
	}
	defer in.Close()
	out, err := os.CreateTemp(dir, "layer-")
	if err != nil {
		return blobRecord{}, "", fmt.Errorf("compress layer: %w", err)
	}
	defer out.Close()
	h := newDigester()
	cw := &countingWriter{}
	zw := gzip.NewWriter(io.MultiWriter(out, h, cw))
	if _, err := io.Copy(zw, in); err != nil {
		return blobRecord{}, "", fmt.Errorf("compress layer: %w", err)
	}
	if err := zw.Close(); err != nil {
		return blobRecord{}, "", fmt.Errorf("compress layer: %w", err)
	}
	return blobRecord{Digest: h.digest(), MediaType: string(types.OCILayer), Size: cw.n}, out.Name(), nil
}

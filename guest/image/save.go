package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/distribution/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Save writes the images refs name to w as one tar archive that both
// docker load (manifest.json, layers as blobs, as docker 25 writes) and
// OCI tools (index.json, oci-layout) read. An image saved by name keeps
// that name; one saved by ID has none, as with docker.
func (s *Store) Save(ctx context.Context, refs []string, w io.Writer) (err error) {
	work, err := os.MkdirTemp(s.tmpDir(), "save-")
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	defer os.RemoveAll(work)

	type entry struct {
		img   *storedImage
		names []reference.NamedTagged
	}
	var entries []*entry
	byID := map[string]*entry{}
	defer func() {
		for _, e := range entries {
			s.unpin(e.img.pinned)
		}
	}()
	for _, ref := range refs {
		s.mu.Lock()
		m, err := s.resolve(ref)
		s.mu.Unlock()
		if err != nil {
			return err
		}
		e := byID[m.id]
		if e == nil {
			img, err := s.pushable(m.id, work, func(Progress) {}, false)
			if err != nil {
				return err
			}
			e = &entry{img: img}
			byID[m.id] = e
			entries = append(entries, e)
		}
		if t, ok := m.name.(reference.NamedTagged); ok && m.kind == byTag {
			e.names = append(e.names, t)
		}
	}

	tw := tar.NewWriter(w)
	written := map[string]bool{}
	blob := func(d string, size int64, open func() (io.ReadCloser, error)) error {
		if written[d] {
			return nil
		}
		written[d] = true
		if err := ctx.Err(); err != nil {
			return err
		}
		r, err := open()
		if err != nil {
			return err
		}
		defer r.Close()
		if err := tw.WriteHeader(fileHeader("blobs/sha256/"+hexOf(d), size)); err != nil {
			return err
		}
		_, err = io.Copy(tw, r)
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "blobs/", Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "blobs/sha256/", Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	var dockerManifest tarball.Manifest
	index := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	for _, e := range entries {
		img := e.img
		cfgDigest := digestOf(img.config)
		if err := blob(cfgDigest, int64(len(img.config)), bytesOpener(img.config)); err != nil {
			return fmt.Errorf("save: %w", err)
		}
		d := tarball.Descriptor{Config: "blobs/sha256/" + hexOf(cfgDigest)}
		for _, b := range img.blobs {
			p := img.paths[b.Digest]
			if err := blob(b.Digest, b.Size, func() (io.ReadCloser, error) { return os.Open(p) }); err != nil {
				return fmt.Errorf("save: %w", err)
			}
			d.Layers = append(d.Layers, "blobs/sha256/"+hexOf(b.Digest))
		}
		md := digestOf(img.manifest)
		if err := blob(md, int64(len(img.manifest)), bytesOpener(img.manifest)); err != nil {
			return fmt.Errorf("save: %w", err)
		}
		h, _ := v1.NewHash(md)
		desc := v1.Descriptor{MediaType: img.mediaType, Digest: h, Size: int64(len(img.manifest))}
		for _, n := range e.names {
			d.RepoTags = append(d.RepoTags, reference.FamiliarString(n))
			nd := desc
			nd.Annotations = map[string]string{
				annotationContainerdName: n.String(),
				annotationRefName:        n.Tag(),
			}
			index.Manifests = append(index.Manifests, nd)
		}
		if len(e.names) == 0 {
			index.Manifests = append(index.Manifests, desc)
		}
		dockerManifest = append(dockerManifest, d)
	}
	files := []struct {
		name string
		v    any
	}{
		{"index.json", index},
		{"manifest.json", dockerManifest},
		{"oci-layout", map[string]string{"imageLayoutVersion": "1.0.0"}},
	}
	for _, f := range files {
		data, err := json.Marshal(f.v)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(fileHeader(f.name, int64(len(data)))); err != nil {
			return fmt.Errorf("save: %w", err)
		}
		if _, err := tw.Write(data); err != nil {
			return fmt.Errorf("save: %w", err)
		}
	}
	return tw.Close()
}

func fileHeader(name string, size int64) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644, ModTime: time.Unix(0, 0)}
}

func bytesOpener(data []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
}

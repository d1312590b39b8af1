package image

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/opencontainers/go-digest"
)

// source is one image found in a load archive.
type source struct {
	config []byte
	// configDigest is what a manifest says the config's digest is;
	// empty for docker-save images, whose config is named by file.
	configDigest string
	layers       []sourceLayer
	names        []reference.NamedTagged
	// manifest and manifestDigest come from an OCI index, when there is
	// one.
	manifest       []byte
	manifestDigest string
	// repoDigests name the top of what the OCI index pointed at (an
	// image index or a manifest) under the image's name.
	repoDigests []reference.Canonical
	// blobs describe the layer blobs, once stored.
	blobs []blobRecord
}

type sourceLayer struct {
	path string
	// digest is the digest of the file as a manifest lists it, or empty.
	digest string
	// mediaType is the manifest's media type of the layer, or empty.
	mediaType string
	// progress, when set, is told how much of the file was unpacked.
	progress func(n int64)
}

const (
	annotationContainerdName = "io.containerd.image.name"
	annotationRefName        = "org.opencontainers.image.ref.name"
	annotationReferenceType  = "vnd.docker.reference.type"
)

// readSources finds the images in an extracted archive: a docker-save
// archive (manifest.json, old layout or the OCI-based one docker 25
// writes) or an OCI image layout (index.json).
func readSources(a *archive) ([]*source, error) {
	var oci []*source
	if a.has("index.json") {
		var err error
		if oci, err = readOCI(a); err != nil && !a.has("manifest.json") {
			return nil, err
		}
	}
	if !a.has("manifest.json") {
		if !a.has("index.json") {
			return nil, errdefs.ErrInvalidArgument.WithMessage("archive has neither manifest.json (docker save) nor index.json (OCI layout)")
		}
		return oci, nil
	}
	srcs, err := readDockerSave(a)
	if err != nil {
		return nil, err
	}
	// Docker 25 writes both: names come from manifest.json, as docker
	// reads them, and the manifest digest from the OCI side.
	for _, s := range srcs {
		for _, o := range oci {
			if o.configDigest == digestOf(s.config) {
				s.manifest, s.manifestDigest = o.manifest, o.manifestDigest
			}
		}
	}
	return srcs, nil
}

func readDockerSave(a *archive) ([]*source, error) {
	data, err := a.read("manifest.json")
	if err != nil {
		return nil, err
	}
	var m tarball.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: parse manifest.json: %w", errdefs.ErrInvalidArgument, err)
	}
	var out []*source
	for _, d := range m {
		src := &source{}
		if src.config, err = a.read(d.Config); err != nil {
			return nil, err
		}
		for _, l := range d.Layers {
			p, err := a.path(l)
			if err != nil {
				if len(d.LayerSources) > 0 {
					return nil, errdefs.ErrNotImplemented.WithMessage(fmt.Sprintf("layer %s is not in the archive (foreign layers are not supported)", l))
				}
				return nil, err
			}
			src.layers = append(src.layers, sourceLayer{path: p})
		}
		for _, t := range d.RepoTags {
			nt, err := parseTag(t)
			if err != nil {
				return nil, fmt.Errorf("manifest.json: %w", err)
			}
			src.names = append(src.names, nt)
		}
		out = append(out, src)
	}
	return out, nil
}

func readOCI(a *archive) ([]*source, error) {
	data, err := a.read("index.json")
	if err != nil {
		return nil, err
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: parse index.json: %w", errdefs.ErrInvalidArgument, err)
	}
	var out []*source
	for _, desc := range idx.Manifests {
		name := annotatedName(desc.Annotations)
		top := desc.Digest.String()
		if desc.MediaType.IsIndex() {
			child, err := pickPlatform(a, desc.Digest)
			if err != nil {
				return nil, err
			}
			desc = child
		}
		if !desc.MediaType.IsImage() || desc.Annotations[annotationReferenceType] != "" {
			continue
		}
		src, err := readOCIImage(a, desc.Digest)
		if err != nil {
			return nil, err
		}
		if name != nil {
			src.names = []reference.NamedTagged{name}
			if c, err := reference.WithDigest(reference.TrimNamed(name), digest.Digest(top)); err == nil {
				src.repoDigests = []reference.Canonical{c}
			}
		}
		out = append(out, src)
	}
	if len(out) == 0 {
		return nil, errdefs.ErrInvalidArgument.WithMessage("index.json lists no image")
	}
	return out, nil
}

// annotatedName finds the image's name in an index.json descriptor.
// org.opencontainers.image.ref.name is often only a tag ("latest"),
// which names no repository; it counts only when it holds a "/" or ":".
func annotatedName(ann map[string]string) reference.NamedTagged {
	for _, key := range []string{annotationContainerdName, annotationRefName} {
		n := ann[key]
		if n == "" || (key == annotationRefName && !strings.ContainsAny(n, "/:")) {
			continue
		}
		if nt, err := parseTag(n); err == nil {
			return nt
		}
	}
	return nil
}

// readBlob reads a blob of an OCI layout and checks its digest.
func readBlob(a *archive, h v1.Hash) ([]byte, error) {
	if h.Algorithm != "sha256" {
		return nil, errdefs.ErrNotImplemented.WithMessage(fmt.Sprintf("blob %s: only sha256 digests are supported", h))
	}
	data, err := a.read("blobs/sha256/" + h.Hex)
	if err != nil {
		return nil, err
	}
	if digestOf(data) != h.String() {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("blob %s does not match its digest", h))
	}
	return data, nil
}

// pickPlatform chooses, from an image index, the manifest for this
// machine's architecture, or failing that the only one whose manifest
// the archive holds.
func pickPlatform(a *archive, h v1.Hash) (v1.Descriptor, error) {
	data, err := readBlob(a, h)
	if err != nil {
		return v1.Descriptor{}, err
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(data))
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("%w: parse image index %s: %w", errdefs.ErrInvalidArgument, h, err)
	}
	var present []v1.Descriptor
	for _, d := range idx.Manifests {
		if !d.MediaType.IsImage() || d.Annotations[annotationReferenceType] != "" {
			continue
		}
		if _, err := a.path("blobs/sha256/" + d.Digest.Hex); err != nil {
			continue
		}
		if d.Platform != nil && d.Platform.OS == "linux" && d.Platform.Architecture == runtime.GOARCH {
			return d, nil
		}
		present = append(present, d)
	}
	if len(present) == 1 {
		return present[0], nil
	}
	return v1.Descriptor{}, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("image index %s has no linux/%s image in the archive", h, runtime.GOARCH))
}

func readOCIImage(a *archive, h v1.Hash) (*source, error) {
	data, err := readBlob(a, h)
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: parse manifest %s: %w", errdefs.ErrInvalidArgument, h, err)
	}
	src := &source{manifest: data, manifestDigest: h.String(), configDigest: m.Config.Digest.String()}
	if src.config, err = readBlob(a, m.Config.Digest); err != nil {
		return nil, err
	}
	for _, l := range m.Layers {
		if l.Digest.Algorithm != "sha256" {
			return nil, errdefs.ErrNotImplemented.WithMessage(fmt.Sprintf("layer %s: only sha256 digests are supported", l.Digest))
		}
		p, err := a.path("blobs/sha256/" + l.Digest.Hex)
		if err != nil {
			return nil, errdefs.ErrNotImplemented.WithMessage(fmt.Sprintf("layer %s is not in the archive (non-distributable layers are not supported)", l.Digest))
		}
		src.layers = append(src.layers, sourceLayer{path: p, digest: l.Digest.String(), mediaType: string(l.MediaType)})
	}
	return src, nil
}

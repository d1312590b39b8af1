package vmimage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// rawManifest is a manifest or index to put as it is.
type rawManifest struct {
	b  []byte
	mt types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.b, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

// Push pushes the guest image folders in dirs (one per architecture,
// each holding manifest.json and the files it names, as make vmimage
// builds them) to ref as one OCI index, and returns the index's digest.
// Every file is checked against its manifest first.
func Push(ctx context.Context, ref string, dirs []string, o Options) (string, error) {
	r, err := o.parseRef(ref)
	if err != nil {
		return "", err
	}
	ropts := o.remote(ctx)
	repo := r.Context()
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, ArtifactType: ArtifactType}
	seen := map[string]bool{}
	for _, dir := range dirs {
		desc, arch, err := pushArch(repo, dir, ropts, o)
		if err != nil {
			return "", fmt.Errorf("push %s: %w", dir, err)
		}
		if seen[arch] {
			return "", fmt.Errorf("push %s: a second %s image", dir, arch)
		}
		seen[arch] = true
		desc.Platform = &v1.Platform{OS: "linux", Architecture: arch}
		idx.Manifests = append(idx.Manifests, desc)
	}
	if len(idx.Manifests) == 0 {
		return "", fmt.Errorf("push %s: no guest image folders given", ref)
	}
	b, err := json.Marshal(idx)
	if err != nil {
		return "", err
	}
	if err := remote.Put(r, rawManifest{b, types.OCIImageIndex}, ropts...); err != nil {
		return "", fmt.Errorf("push the index to %s: %w", ref, err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// pushArch pushes one architecture's files, manifest.json (as the
// config) and image manifest, and returns the manifest's descriptor.
func pushArch(repo name.Repository, dir string, ropts []remote.Option, o Options) (v1.Descriptor, string, error) {
	cfg, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return v1.Descriptor{}, "", fmt.Errorf("read the manifest (make vmimage builds it): %w", err)
	}
	m, err := ParseManifest(cfg)
	if err != nil {
		return v1.Descriptor{}, "", err
	}
	man := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: ArtifactType}
	for _, p := range m.parts() {
		b, err := os.ReadFile(filepath.Join(dir, p.File.File))
		if err != nil {
			return v1.Descriptor{}, "", err
		}
		sum := sha256.Sum256(b)
		if int64(len(b)) != p.Size || hex.EncodeToString(sum[:]) != p.SHA256 {
			return v1.Descriptor{}, "", fmt.Errorf("%s does not match its manifest; rebuild it with make vmimage", p.File.File)
		}
		l := static.NewLayer(b, types.MediaType(p.mediaType))
		if o.Out != nil {
			fmt.Fprintf(o.Out, "%s/%s: %s (%d bytes)\n", m.Arch, p.File.File, "sha256:"+p.SHA256, p.Size)
		}
		if err := remote.WriteLayer(repo, l, ropts...); err != nil {
			return v1.Descriptor{}, "", fmt.Errorf("push %s: %w", p.File.File, err)
		}
		h, _ := v1.NewHash("sha256:" + p.SHA256)
		man.Layers = append(man.Layers, v1.Descriptor{
			MediaType:   types.MediaType(p.mediaType),
			Size:        p.Size,
			Digest:      h,
			Annotations: map[string]string{titleAnnotation: p.File.File},
		})
	}
	cl := static.NewLayer(cfg, ManifestMediaType)
	if err := remote.WriteLayer(repo, cl, ropts...); err != nil {
		return v1.Descriptor{}, "", fmt.Errorf("push %s: %w", ManifestFile, err)
	}
	ch, err := cl.Digest()
	if err != nil {
		return v1.Descriptor{}, "", err
	}
	man.Config = v1.Descriptor{MediaType: ManifestMediaType, Size: int64(len(cfg)), Digest: ch}
	b, err := json.Marshal(man)
	if err != nil {
		return v1.Descriptor{}, "", err
	}
	sum := sha256.Sum256(b)
	h, _ := v1.NewHash("sha256:" + hex.EncodeToString(sum[:]))
	if err := remote.Put(repo.Digest(h.String()), rawManifest{b, types.OCIManifestSchema1}, ropts...); err != nil {
		return v1.Descriptor{}, "", fmt.Errorf("push the %s manifest: %w", m.Arch, err)
	}
	return v1.Descriptor{MediaType: types.OCIManifestSchema1, ArtifactType: ArtifactType, Size: int64(len(b)), Digest: h}, m.Arch, nil
}

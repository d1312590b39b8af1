package vmimage

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/skiffrun/skiff/guest/api/errclass"
)

// DefaultRef is the guest image this skiff boots, REGISTRY/REPO@sha256:HEX;
// set with -ldflags -X (see the package doc). Empty in a development
// build, which boots the image make vmimage built.
var DefaultRef string

// Media types of the artifact (see the package doc).
const (
	ArtifactType       = "application/vnd.skiff.vmimage.v1"
	ManifestMediaType  = "application/vnd.skiff.vmimage.manifest.v1+json"
	KernelMediaType    = "application/vnd.skiff.vmimage.kernel.v1"
	BzImageMediaType   = "application/vnd.skiff.vmimage.bzimage.v1"
	InitramfsMediaType = "application/vnd.skiff.vmimage.initramfs.v1"
)

// titleAnnotation names a layer's file.
const titleAnnotation = "org.opencontainers.image.title"

// ManifestFile is the manifest's name in an image folder.
const ManifestFile = "manifest.json"

// Limits on what a registry may send before it is refused.
const (
	maxManifestBytes = 64 << 10
	maxFileBytes     = 1 << 30
)

// Manifest is an architecture's manifest.json: the files its image
// boots, with their sizes and sha256 (the vmimage command writes it).
type Manifest struct {
	Arch          string `json:"arch"`
	KernelVersion string `json:"kernel_version,omitempty"`
	KernelPackage string `json:"kernel_package,omitempty"`
	Kernel        File   `json:"kernel"`
	// BzImage is amd64's compressed kernel, for vz on Intel Macs.
	BzImage   *File `json:"bzimage,omitempty"`
	Initramfs File  `json:"initramfs"`
}

// File names a file beside the manifest and pins its content.
type File struct {
	File   string `json:"file"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Arches are the architectures a guest image is built for.
var Arches = []string{"amd64", "arm64"}

// KernelFile is the kernel's name per architecture, which the drivers
// boot: an ELF vmlinux (PVH) on amd64, the uncompressed Image on arm64.
func KernelFile(arch string) string {
	if arch == "arm64" {
		return "Image"
	}
	return "vmlinux"
}

// bzImageFile is amd64's compressed kernel, which vz finds beside the
// vmlinux by this name.
const bzImageFile = "vmlinuz"

// part is one file of an image with the media type its layer has.
type part struct {
	File
	mediaType string
}

// parts are m's files with their layers' media types.
func (m Manifest) parts() []part {
	ps := []part{{m.Kernel, KernelMediaType}}
	if m.BzImage != nil {
		ps = append(ps, part{*m.BzImage, BzImageMediaType})
	}
	return append(ps, part{m.Initramfs, InitramfsMediaType})
}

// Size is the sum of the files' sizes.
func (m Manifest) Size() int64 {
	var n int64
	for _, p := range m.parts() {
		n += p.Size
	}
	return n
}

// ParseManifest parses and checks a manifest.json, which may come from a
// registry: every file a plain name, its size bounded, its sha256 well
// formed, the kernel named as the drivers expect.
func ParseManifest(b []byte) (Manifest, error) {
	var m Manifest
	if len(b) > maxManifestBytes {
		return m, fmt.Errorf("manifest.json is %d bytes; at most %d", len(b), maxManifestBytes)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("manifest.json: %w", err)
	}
	if !slices.Contains(Arches, m.Arch) {
		return m, fmt.Errorf("manifest.json: architecture %q is not one of %s", m.Arch, strings.Join(Arches, ", "))
	}
	if m.Kernel.File != KernelFile(m.Arch) {
		return m, fmt.Errorf("manifest.json: the %s kernel is %q; want %s", m.Arch, m.Kernel.File, KernelFile(m.Arch))
	}
	if m.BzImage != nil && (m.Arch != "amd64" || m.BzImage.File != bzImageFile) {
		return m, fmt.Errorf("manifest.json: a bzimage %q on %s; only amd64 has one, named %s", m.BzImage.File, m.Arch, bzImageFile)
	}
	seen := map[string]bool{ManifestFile: true}
	for _, p := range m.parts() {
		if err := checkFile(p.File); err != nil {
			return m, fmt.Errorf("manifest.json: %w", err)
		}
		if seen[p.File.File] {
			return m, fmt.Errorf("manifest.json: %q is named twice", p.File.File)
		}
		seen[p.File.File] = true
	}
	return m, nil
}

func checkFile(f File) error {
	if f.File == "" || f.File == "." || f.File == ".." || strings.ContainsAny(f.File, "/\\:\x00") || strings.HasPrefix(f.File, ".") {
		return fmt.Errorf("file name %q is not a plain file name", f.File)
	}
	if f.Size <= 0 || f.Size > maxFileBytes {
		return fmt.Errorf("%s: size %d is not between 1 and %d", f.File, f.Size, int64(maxFileBytes))
	}
	if b, err := hex.DecodeString(f.SHA256); err != nil || len(b) != 32 || strings.ToLower(f.SHA256) != f.SHA256 {
		return fmt.Errorf("%s: sha256 %q is not 64 lowercase hex digits", f.File, f.SHA256)
	}
	return nil
}

// errNotGuestImage is what a reference that is not a skiff guest image
// is refused with.
func errNotGuestImage(ref, format string, args ...any) error {
	return errclass.Errorf(errdefs.ErrInvalidArgument, "%s is not a skiff guest image: %s", ref, fmt.Sprintf(format, args...))
}

// pickManifest parses an index a registry sent for ref (its
// Content-Type mediaType) and returns the descriptor of arch's manifest.
func pickManifest(ref string, mediaType types.MediaType, raw []byte, arch string) (v1.Descriptor, error) {
	if len(raw) > maxManifestBytes {
		return v1.Descriptor{}, errNotGuestImage(ref, "its index is %d bytes", len(raw))
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(raw, &idx); err != nil {
		return v1.Descriptor{}, errNotGuestImage(ref, "its index does not parse: %v", err)
	}
	if idx.MediaType != "" {
		mediaType = idx.MediaType
	}
	if mediaType != types.OCIImageIndex {
		return v1.Descriptor{}, errNotGuestImage(ref, "its media type is %s; want an OCI image index (%s)", mediaType, types.OCIImageIndex)
	}
	if idx.SchemaVersion != 2 {
		return v1.Descriptor{}, errNotGuestImage(ref, "its index has schemaVersion %d; want 2", idx.SchemaVersion)
	}
	if idx.ArtifactType != "" && idx.ArtifactType != ArtifactType {
		return v1.Descriptor{}, errNotGuestImage(ref, "its artifact type is %s; want %s", idx.ArtifactType, ArtifactType)
	}
	var have []string
	for _, d := range idx.Manifests {
		if d.Platform == nil || d.Platform.OS != "linux" {
			continue
		}
		have = append(have, d.Platform.Architecture)
		if d.Platform.Architecture != arch {
			continue
		}
		if d.MediaType != types.OCIManifestSchema1 {
			return v1.Descriptor{}, errNotGuestImage(ref, "its linux/%s entry is a %s; want an OCI image manifest", arch, d.MediaType)
		}
		if d.ArtifactType != "" && d.ArtifactType != ArtifactType {
			return v1.Descriptor{}, errNotGuestImage(ref, "its linux/%s entry has artifact type %s; want %s", arch, d.ArtifactType, ArtifactType)
		}
		if d.Digest.Algorithm != "sha256" || d.Size <= 0 || d.Size > maxManifestBytes {
			return v1.Descriptor{}, errNotGuestImage(ref, "its linux/%s entry's digest %s or size %d is not acceptable", arch, d.Digest, d.Size)
		}
		return d, nil
	}
	if len(have) == 0 {
		return v1.Descriptor{}, errNotGuestImage(ref, "its index lists no linux manifest")
	}
	return v1.Descriptor{}, errclass.Errorf(errdefs.ErrNotFound, "guest image %s has no linux/%s manifest (it has %s)", ref, arch, strings.Join(have, ", "))
}

// artifact is an architecture's image manifest, checked.
type artifact struct {
	config v1.Descriptor
	layers []v1.Descriptor
}

// parseArtifact parses and checks arch's image manifest.
func parseArtifact(ref string, raw []byte) (artifact, error) {
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return artifact{}, errNotGuestImage(ref, "its manifest does not parse: %v", err)
	}
	if m.SchemaVersion != 2 || (m.MediaType != "" && m.MediaType != types.OCIManifestSchema1) {
		return artifact{}, errNotGuestImage(ref, "its manifest is %s, schemaVersion %d; want an OCI image manifest", m.MediaType, m.SchemaVersion)
	}
	if m.ArtifactType != ArtifactType && (m.ArtifactType != "" || m.Config.MediaType != ManifestMediaType) {
		return artifact{}, errNotGuestImage(ref, "its artifact type is %q (config %s); want %s", m.ArtifactType, m.Config.MediaType, ArtifactType)
	}
	if m.Config.MediaType != ManifestMediaType {
		return artifact{}, errNotGuestImage(ref, "its config is a %s; want %s", m.Config.MediaType, ManifestMediaType)
	}
	if m.Config.Digest.Algorithm != "sha256" || m.Config.Size <= 0 || m.Config.Size > maxManifestBytes {
		return artifact{}, errNotGuestImage(ref, "its config's digest %s or size %d is not acceptable", m.Config.Digest, m.Config.Size)
	}
	for _, l := range m.Layers {
		switch l.MediaType {
		case KernelMediaType, BzImageMediaType, InitramfsMediaType:
		default:
			return artifact{}, errNotGuestImage(ref, "a layer is a %s", l.MediaType)
		}
	}
	return artifact{config: m.Config, layers: m.Layers}, nil
}

// match pairs each of the manifest's files with its layer: one layer per
// file, of the file's media type and title, whose digest and size are the
// file's; no other layers.
func (a artifact) match(ref string, m Manifest) ([]v1.Descriptor, error) {
	ps := m.parts()
	if len(a.layers) != len(ps) {
		return nil, errNotGuestImage(ref, "its manifest has %d layers for the %d files of its manifest.json", len(a.layers), len(ps))
	}
	out := make([]v1.Descriptor, len(ps))
	for i, p := range ps {
		j := slices.IndexFunc(a.layers, func(l v1.Descriptor) bool { return l.Annotations[titleAnnotation] == p.File.File })
		if j < 0 {
			return nil, errNotGuestImage(ref, "no layer is titled %s", p.File.File)
		}
		l := a.layers[j]
		if string(l.MediaType) != p.mediaType {
			return nil, errNotGuestImage(ref, "the layer of %s is a %s; want %s", p.File.File, l.MediaType, p.mediaType)
		}
		if l.Digest.String() != "sha256:"+p.SHA256 || l.Size != p.Size {
			return nil, errclass.Errorf(errdefs.ErrDataLoss, "guest image %s: the layer of %s (%s, %d bytes) is not the file its manifest.json pins (sha256:%s, %d bytes)", ref, p.File.File, l.Digest, l.Size, p.SHA256, p.Size)
		}
		out[i] = l
	}
	return out, nil
}

// errDiskFull marks a pull that ran out of space.
var errDiskFull = errors.New("no space left on device")

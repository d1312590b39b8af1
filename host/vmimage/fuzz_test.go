package vmimage

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

// FuzzParseManifest: whatever a registry sends as manifest.json, an
// accepted one names only plain files beside it, of bounded size, with
// well-formed digests.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"arch":"amd64","kernel":{"file":"vmlinux","size":1,"sha256":"` + strings.Repeat("a", 64) + `"},"bzimage":{"file":"vmlinuz","size":3,"sha256":"` + strings.Repeat("c", 64) + `"},"initramfs":{"file":"initramfs.cpio","size":2,"sha256":"` + strings.Repeat("b", 64) + `"}}`))
	f.Add([]byte(`{"arch":"arm64","kernel":{"file":"Image","size":1,"sha256":"` + strings.Repeat("a", 64) + `"},"initramfs":{"file":"../x","size":2,"sha256":"` + strings.Repeat("b", 64) + `"}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, p := range m.parts() {
			n := p.File.File
			if n == "" || strings.ContainsAny(n, "/\\:\x00") || strings.HasPrefix(n, ".") || n == ManifestFile || seen[n] {
				t.Fatalf("accepted file name %q", n)
			}
			seen[n] = true
			if p.Size <= 0 || p.Size > maxFileBytes || len(p.SHA256) != 64 {
				t.Fatalf("accepted %+v", p.File)
			}
		}
	})
}

// FuzzArtifact: an index and image manifest a registry sends either are
// refused or name only sha256 digests of bounded size and skiff's media
// types.
func FuzzArtifact(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":10,"digest":"sha256:`+strings.Repeat("a", 64)+`","platform":{"os":"linux","architecture":"amd64"}}]}`),
		[]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"`+ArtifactType+`","config":{"mediaType":"`+ManifestMediaType+`","size":10,"digest":"sha256:`+strings.Repeat("b", 64)+`"},"layers":[{"mediaType":"`+KernelMediaType+`","size":1,"digest":"sha256:`+strings.Repeat("c", 64)+`","annotations":{"org.opencontainers.image.title":"vmlinux"}}]}`))
	f.Add([]byte(`{"manifests":null}`), []byte(`{"layers":[{}]}`))
	f.Fuzz(func(t *testing.T, index, manifest []byte) {
		if d, err := pickManifest("r", types.OCIImageIndex, index, "amd64"); err == nil {
			if d.Digest.Algorithm != "sha256" || d.Size <= 0 || d.Size > maxManifestBytes || d.Platform == nil || d.Platform.Architecture != "amd64" {
				t.Fatalf("accepted %+v", d)
			}
		}
		a, err := parseArtifact("r", manifest)
		if err != nil {
			return
		}
		if a.config.MediaType != ManifestMediaType || a.config.Size > maxManifestBytes {
			t.Fatalf("accepted config %+v", a.config)
		}
		for _, l := range a.layers {
			switch l.MediaType {
			case KernelMediaType, BzImageMediaType, InitramfsMediaType:
			default:
				t.Fatalf("accepted layer %+v", l)
			}
		}
		// match never accepts a layer the manifest.json does not pin.
		var m Manifest
		if json.Unmarshal(manifest, &m) == nil {
			if ls, err := a.match("r", m); err == nil {
				for i, p := range m.parts() {
					if ls[i].Digest.Hex != p.SHA256 || ls[i].Size != p.Size {
						t.Fatalf("matched %+v to %+v", ls[i], p)
					}
				}
			}
		}
	})
}

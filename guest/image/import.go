package image

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiffrun/skiff/guest/unpack"
)

// ImportOptions are docker import's settings.
type ImportOptions struct {
	// Reference names the image (REPOSITORY[:TAG]); empty leaves it
	// untagged.
	Reference string
	// Changes are Dockerfile-like instructions (see applyChange).
	Changes []string
	// Message is the commit message kept in the image's history.
	Message  string
	Platform string
}

// Import makes a one-layer image from r, a root filesystem tarball,
// itself uncompressed or compressed, and returns its ID.
func (s *Store) Import(ctx context.Context, r io.Reader, o ImportOptions) (string, error) {
	var names []reference.NamedTagged
	if o.Reference != "" {
		t, err := parseTag(o.Reference)
		if err != nil {
			return "", err
		}
		names = append(names, t)
	}
	plat, err := parsePlatform(o.Platform)
	if err != nil {
		return "", err
	}
	now := time.Now().UTC()
	cf := v1.ConfigFile{
		Architecture: plat.Architecture,
		OS:           plat.OS,
		Variant:      plat.Variant,
		Created:      v1.Time{Time: now},
		Config:       v1.Config{Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
		RootFS:       v1.RootFS{Type: "layers"},
		History:      []v1.History{{Created: v1.Time{Time: now}, CreatedBy: "skiff import", Comment: o.Message}},
	}
	if err := applyChanges(&cf.Config, o.Changes); err != nil {
		return "", err
	}

	work, err := os.MkdirTemp(s.tmpDir(), "import-")
	if err != nil {
		return "", fmt.Errorf("import: %w", err)
	}
	defer os.RemoveAll(work)
	dr, _, err := unpack.Decompress(r)
	if err != nil {
		return "", fmt.Errorf("%w: import: %w", errdefs.ErrInvalidArgument, err)
	}
	defer dr.Close()
	f, err := os.CreateTemp(work, "layer-")
	if err != nil {
		return "", fmt.Errorf("import: %w", err)
	}
	h := newDigester()
	_, err = io.Copy(io.MultiWriter(f, h), dr)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("import: read the tarball: %w", err)
	}
	diffID, err := v1.NewHash(h.digest())
	if err != nil {
		return "", err
	}
	cf.RootFS.DiffIDs = []v1.Hash{diffID}
	config, err := json.Marshal(commentedConfig{ConfigFile: &cf, Comment: o.Message})
	if err != nil {
		return "", err
	}
	src := &source{config: config, layers: []sourceLayer{{path: f.Name(), digest: diffID.String()}}, names: names}
	if _, err := s.importImage(ctx, src, func(string) {}); err != nil {
		return "", fmt.Errorf("import: %w", err)
	}
	return digestOf(config), nil
}

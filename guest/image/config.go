package image

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// imageConfig is what the store keeps in memory from an image's config
// blob.
type imageConfig struct {
	created                   time.Time
	os, architecture, variant string
	author, comment           string
	config                    *apiv1.ImageConfig
	diffIDs                   []string
}

// parseConfig reads an image config blob.
func parseConfig(data []byte) (*imageConfig, error) {
	cf, err := v1.ParseConfigFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: parse image config: %w", errdefs.ErrInvalidArgument, err)
	}
	// docker's top-level comment, which ConfigFile does not carry.
	var extra struct {
		Comment string `json:"comment"`
	}
	_ = json.Unmarshal(data, &extra)
	c := cf.Config
	ic := &imageConfig{
		author:       cf.Author,
		comment:      extra.Comment,
		created:      cf.Created.Time,
		os:           cf.OS,
		architecture: cf.Architecture,
		variant:      cf.Variant,
		config: &apiv1.ImageConfig{
			Entrypoint:   c.Entrypoint,
			Cmd:          c.Cmd,
			Env:          c.Env,
			WorkingDir:   c.WorkingDir,
			User:         c.User,
			ExposedPorts: slices.Sorted(maps.Keys(c.ExposedPorts)),
			Volumes:      slices.Sorted(maps.Keys(c.Volumes)),
			StopSignal:   c.StopSignal,
			Labels:       c.Labels,
			Healthcheck:  healthConfig(c.Healthcheck),
		},
	}
	for _, d := range cf.RootFS.DiffIDs {
		if d.Algorithm != "sha256" {
			return nil, fmt.Errorf("%w: image config lists layer %s; only sha256 is supported", errdefs.ErrInvalidArgument, d)
		}
		ic.diffIDs = append(ic.diffIDs, d.String())
	}
	return ic, nil
}

// healthConfig is an image's HEALTHCHECK in the agent's terms.
func healthConfig(h *v1.HealthConfig) *apiv1.HealthConfig {
	if h == nil {
		return nil
	}
	return &apiv1.HealthConfig{
		Test:        h.Test,
		Interval:    int64(h.Interval),
		Timeout:     int64(h.Timeout),
		StartPeriod: int64(h.StartPeriod),
		Retries:     int32(h.Retries),
	}
}

// chainIDs computes the chain ID of each layer, as docker and the OCI
// image spec define it: the first layer's is its diff ID, each next one
// is the digest of "<parent chain ID> <diff ID>".
func chainIDs(diffIDs []string) []string {
	out := make([]string, len(diffIDs))
	for i, d := range diffIDs {
		if i == 0 {
			out[i] = d
			continue
		}
		sum := sha256.Sum256([]byte(out[i-1] + " " + d))
		out[i] = "sha256:" + hex.EncodeToString(sum[:])
	}
	return out
}

func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// hexOf returns the hex part of a "sha256:<hex>" digest.
func hexOf(digest string) string {
	return strings.TrimPrefix(digest, "sha256:")
}

func (s *Store) blobPath(digest string) string {
	return filepath.Join(s.blobDir(), hexOf(digest))
}

// readConfig reads and checks the config blob of image id.
func (s *Store) readConfig(id string) (*imageConfig, error) {
	data, err := os.ReadFile(s.blobPath(id))
	if err != nil {
		return nil, fmt.Errorf("read config of image %s: %w", id, err)
	}
	if digestOf(data) != id {
		return nil, fmt.Errorf("config blob of image %s is corrupt", id)
	}
	return parseConfig(data)
}

// writeBlob stores data under its digest: written to a temp file,
// synced, then renamed, so a blob file is always whole. A blob already
// there is left alone.
func (s *Store) writeBlob(digest string, data []byte) (err error) {
	if digestOf(data) != digest {
		return fmt.Errorf("%w: blob does not match its digest %s", errdefs.ErrInvalidArgument, digest)
	}
	dst := s.blobPath(digest)
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	f, err := os.CreateTemp(s.tmpDir(), "blob-")
	if err != nil {
		return fmt.Errorf("write blob %s: %w", digest, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := io.Copy(f, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("write blob %s: %w", digest, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync blob %s: %w", digest, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write blob %s: %w", digest, err)
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		return fmt.Errorf("write blob %s: %w", digest, err)
	}
	return nil
}

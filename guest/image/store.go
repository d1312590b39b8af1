// Package image is the agent's image store: it pulls images from
// registries and pushes them back, loads, saves and imports archives,
// keeps image configs, names and layer blobs, and keeps every layer
// unpacked once, as a directory ready to be an overlayfs lower layer.
// Credentials come from the caller with each request and are never
// stored. Mounting and the containers themselves are left to other
// packages; they find images here by reference with Get.
//
// On disk, under the store's root:
//
//	index.json          names, images and layers; replaced atomically
//	blobs/sha256/<hex>  image configs, manifests and layer blobs, by digest
//	layers/<n>          one unpacked layer, n a small number
//	tmp/                work in progress; emptied by Open
//
// Layer blobs are kept beside their unpacked directories, as the
// registry or archive gave them (gzip, zstd or plain tar): push and save
// send them byte for byte, and a pull that was interrupted finds the
// blobs it completed. A blob file is always whole and matches its name;
// Open keeps such a blob even when no image uses it yet, and prune (or
// the next rmi) collects it.
//
// Layer directories have short numeric names because overlayfs takes
// all lower directories in one mount option, which is limited to a page.
// A layer is known by its chain ID (as in docker), so an image never
// lists the same directory twice, which overlayfs refuses.
//
// Everything new is written under tmp/ and renamed into place once
// complete and synced; index.json is written last. A load killed half
// way therefore leaves at most unreferenced files, which Open removes,
// and never an indexed image whose layers are missing.
package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"golang.org/x/sync/singleflight"
	"google.golang.org/protobuf/proto"

	"github.com/skiffrun/skiff/guest/api/atomicfile"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// Image is a stored image as the container manager and the API see it.
// Each call returns a fresh copy that the caller may keep and change.
type Image struct {
	// ID is the digest of the image's config, "sha256:<hex>".
	ID string
	// RepoTags are the image's names in familiar form
	// ("busybox:latest", "localhost/busybox:latest"), sorted.
	RepoTags []string
	// RepoDigests are name@digest references, sorted.
	RepoDigests []string
	Created     time.Time
	// Size is the bytes of file content in all layers, unpacked.
	Size                      int64
	OS, Architecture, Variant string
	// Author and Comment are what a commit or import recorded.
	Author, Comment string
	Config          *apiv1.ImageConfig
	// Layers are the absolute paths of the unpacked layer directories,
	// lowest first; overlayfs's lowerdir option wants them reversed.
	Layers []string
	// DiffIDs are the digests of the uncompressed layer tars, lowest
	// first, as the config lists them.
	DiffIDs []string
	// ManifestDigest is the digest of the manifest the image was loaded
	// with, when the archive carried one.
	ManifestDigest string
}

// Store is an image store rooted at one directory. Its methods are safe
// for concurrent use; a load runs without blocking lookups, and only its
// final step waits for other changes.
type Store struct {
	root string

	mu sync.Mutex
	st *state
	// configs holds what was read from each image's config blob.
	configs map[string]*imageConfig
	// pins counts, by chain ID or blob digest, the loads in progress
	// that rely on an existing layer or are writing a blob, so that a
	// Remove meanwhile does not delete it under them.
	pins map[string]int
	// fetches shares one download of a blob among the pulls that want
	// it at once.
	fetches singleflight.Group
}

// state is what index.json holds. Records are never changed in place:
// a change builds a new state with clone, saves it, then swaps it in.
type state struct {
	Version   int                     `json:"version"`
	NextLayer int                     `json:"nextLayer"`
	Images    map[string]*imageRecord `json:"images"`
	// Tags maps a normalized name:tag ("docker.io/library/busybox:latest")
	// to an image ID.
	Tags   map[string]string       `json:"tags"`
	Layers map[string]*layerRecord `json:"layers"`
}

type imageRecord struct {
	ID string `json:"id"`
	// ChainIDs name the image's layers in Layers, lowest first.
	ChainIDs       []string `json:"chainIDs"`
	ManifestDigest string   `json:"manifestDigest,omitempty"`
	// RepoDigests are normalized name@digest references.
	RepoDigests []string `json:"repoDigests,omitempty"`
	// Blobs are the layer blobs, lowest first, as a manifest lists
	// them. Images stored before blobs were kept have none.
	Blobs []blobRecord `json:"blobs,omitempty"`
}

// blobRecord is a layer blob: its digest, media type and size, as in a
// manifest's descriptor.
type blobRecord struct {
	Digest    string `json:"digest"`
	MediaType string `json:"mediaType"`
	Size      int64  `json:"size"`
}

type layerRecord struct {
	Dir    int    `json:"dir"`
	DiffID string `json:"diffID"`
	Size   int64  `json:"size"`
}

const stateVersion = 1

func newState() *state {
	return &state{
		Version:   stateVersion,
		NextLayer: 1,
		Images:    map[string]*imageRecord{},
		Tags:      map[string]string{},
		Layers:    map[string]*layerRecord{},
	}
}

func (st *state) clone() *state {
	c := *st
	c.Images = maps.Clone(st.Images)
	c.Tags = maps.Clone(st.Tags)
	c.Layers = maps.Clone(st.Layers)
	return &c
}

// Open opens the store at root, creating it if needed, and finishes what
// an earlier agent left half done: it empties tmp/, drops any image whose
// config or layers are missing, and removes layers and blobs no image
// uses.
func Open(root string) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("open image store %s: %w", root, err)
	}
	root = abs
	s := &Store{root: root, configs: map[string]*imageConfig{}, pins: map[string]int{}}
	for _, d := range []string{s.blobDir(), s.layersDir(), s.tmpDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("open image store: %w", err)
		}
	}
	if err := emptyDir(s.tmpDir()); err != nil {
		return nil, fmt.Errorf("open image store: clear leftovers: %w", err)
	}
	st, err := s.readState()
	if err != nil {
		return nil, err
	}
	s.st = st
	if err := s.recover(); err != nil {
		return nil, fmt.Errorf("open image store %s: %w", root, err)
	}
	return s, nil
}

func (s *Store) indexPath() string { return filepath.Join(s.root, "index.json") }
func (s *Store) blobDir() string   { return filepath.Join(s.root, "blobs", "sha256") }
func (s *Store) layersDir() string { return filepath.Join(s.root, "layers") }
func (s *Store) tmpDir() string    { return filepath.Join(s.root, "tmp") }

func (s *Store) layerPath(dir int) string {
	return filepath.Join(s.layersDir(), strconv.Itoa(dir))
}

func (s *Store) readState() (*state, error) {
	data, err := os.ReadFile(s.indexPath())
	if errors.Is(err, os.ErrNotExist) {
		return newState(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read image index: %w", err)
	}
	st := newState()
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("read image index %s: %w", s.indexPath(), err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("image index %s has version %d; this agent reads version %d", s.indexPath(), st.Version, stateVersion)
	}
	return st, nil
}

// save makes st the state on disk. The caller holds s.mu.
func (s *Store) save(st *state) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode image index: %w", err)
	}
	if err := atomicfile.WriteFile(s.indexPath(), data); err != nil {
		return fmt.Errorf("save image index: %w", err)
	}
	return nil
}

// recover makes the index and the disk agree, at Open.
func (s *Store) recover() error {
	next := s.st.clone()
	changed := false
	for id, rec := range s.st.Images {
		cfg, err := s.readConfig(id)
		ok := err == nil
		for _, c := range rec.ChainIDs {
			l := next.Layers[c]
			if l == nil {
				ok = false
				break
			}
			if _, err := os.Stat(s.layerPath(l.Dir)); err != nil {
				ok = false
				break
			}
		}
		if !ok {
			// An image that cannot run must not be listed.
			deleteImage(next, id)
			changed = true
			continue
		}
		s.configs[id] = cfg
	}
	for _, chain := range unusedLayers(next, nil) {
		delete(next.Layers, chain)
		changed = true
	}
	if changed {
		if err := s.save(next); err != nil {
			return err
		}
	}
	s.st = next

	keep := map[string]bool{}
	for _, l := range next.Layers {
		keep[strconv.Itoa(l.Dir)] = true
		next.NextLayer = max(next.NextLayer, l.Dir+1)
	}
	if err := removeExcept(s.layersDir(), keep); err != nil {
		return err
	}
	return removeCorruptBlobs(s.blobDir(), usedBlobs(next))
}

// usedBlobs names the blob files the images in st need.
func usedBlobs(st *state) map[string]bool {
	keep := map[string]bool{}
	for id, rec := range st.Images {
		keep[hexOf(id)] = true
		if rec.ManifestDigest != "" {
			keep[hexOf(rec.ManifestDigest)] = true
		}
		for _, b := range rec.Blobs {
			keep[hexOf(b.Digest)] = true
		}
	}
	return keep
}

// unusedLayers lists the layers in st that no image uses and no load has
// pinned.
func unusedLayers(st *state, pins map[string]int) []string {
	used := map[string]bool{}
	for _, rec := range st.Images {
		for _, c := range rec.ChainIDs {
			used[c] = true
		}
	}
	var unused []string
	for c := range st.Layers {
		if !used[c] && pins[c] == 0 {
			unused = append(unused, c)
		}
	}
	slices.Sort(unused)
	return unused
}

// deleteImage drops id and every name pointing at it from st.
func deleteImage(st *state, id string) {
	delete(st.Images, id)
	for t, v := range st.Tags {
		if v == id {
			delete(st.Tags, t)
		}
	}
}

func emptyDir(dir string) error {
	return removeExcept(dir, nil)
}

// removeExcept removes every entry of dir whose name keep does not hold.
func removeExcept(dir string, keep map[string]bool) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		if !keep[e.Name()] {
			errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
		}
	}
	return errors.Join(errs...)
}

// Get returns the image ref names: a name with an optional tag (docker's
// normalization: "busybox" is "docker.io/library/busybox:latest"), a
// name@sha256:digest, an image ID "sha256:<hex>", or a unique prefix of
// at least four hex digits of one. An unknown ref is an error satisfying
// errdefs.IsNotFound, reading "No such image: <ref>".
func (s *Store) Get(ctx context.Context, ref string) (*Image, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.resolve(ref)
	if err != nil {
		return nil, err
	}
	return s.image(m.id, s.tagsByImage()[m.id]), nil
}

// List returns every image, the most recently created first.
func (s *Store) List(ctx context.Context) ([]*Image, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tags := s.tagsByImage()
	out := make([]*Image, 0, len(s.st.Images))
	for id := range s.st.Images {
		out = append(out, s.image(id, tags[id]))
	}
	slices.SortFunc(out, func(a, b *Image) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return compareStrings(a.ID, b.ID)
	})
	return out, nil
}

// Count returns the number of images, untagged ones included.
func (s *Store) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.st.Images)
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// tagsByImage maps image IDs to their normalized tags. The caller holds
// s.mu.
func (s *Store) tagsByImage() map[string][]string {
	m := map[string][]string{}
	for t, id := range s.st.Tags {
		m[id] = append(m[id], t)
	}
	return m
}

// image builds the Image for id. The caller holds s.mu.
func (s *Store) image(id string, tags []string) *Image {
	rec := s.st.Images[id]
	cfg := s.configs[id]
	img := &Image{
		ID:             id,
		RepoTags:       familiarAll(tags),
		RepoDigests:    familiarAll(rec.RepoDigests),
		Created:        cfg.created,
		OS:             cfg.os,
		Architecture:   cfg.architecture,
		Variant:        cfg.variant,
		Author:         cfg.author,
		Comment:        cfg.comment,
		Config:         proto.Clone(cfg.config).(*apiv1.ImageConfig),
		DiffIDs:        slices.Clone(cfg.diffIDs),
		ManifestDigest: rec.ManifestDigest,
	}
	for _, c := range rec.ChainIDs {
		l := s.st.Layers[c]
		img.Layers = append(img.Layers, s.layerPath(l.Dir))
		img.Size += l.Size
	}
	return img
}

// familiarAll turns normalized references into their familiar forms,
// sorted.
func familiarAll(refs []string) []string {
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		if n, err := reference.ParseNormalizedNamed(r); err == nil {
			out = append(out, reference.FamiliarString(n))
		}
	}
	slices.Sort(out)
	return out
}

func notFound(ref string) error {
	return errdefs.ErrNotFound.WithMessage("No such image: " + ref)
}

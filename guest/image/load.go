package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/skiffrun/skiff/guest/unpack"
)

// Load reads images from r, a docker-save archive (manifest.json, in the
// old layout or docker 25's OCI-based one) or an OCI image layout archive
// (index.json, names taken from the io.containerd.image.name or
// org.opencontainers.image.ref.name annotations), itself uncompressed or
// compressed. Layers may be uncompressed, gzip or zstd. For each image it
// calls progress with docker's lines ("Loaded image: busybox:latest", or
// "Loaded image ID: sha256:..." for an image without a name) and returns
// the names (or IDs) loaded, even when a later image of the archive
// fails.
//
// A name already given to another image moves to the loaded one, as
// with docker; the other image stays, without that name.
func (s *Store) Load(ctx context.Context, r io.Reader, progress func(line string)) (loaded []string, err error) {
	if progress == nil {
		progress = func(string) {}
	}
	work, err := os.MkdirTemp(s.tmpDir(), "load-")
	if err != nil {
		return nil, fmt.Errorf("load images: %w", err)
	}
	defer os.RemoveAll(work)
	a, err := extract(ctx, work, r)
	if err != nil {
		return nil, fmt.Errorf("load images: %w", err)
	}
	srcs, err := readSources(a)
	if err != nil {
		return nil, fmt.Errorf("load images: %w", err)
	}
	for _, src := range srcs {
		names, err := s.importImage(ctx, src, progress)
		if err != nil {
			return loaded, fmt.Errorf("load images: %w", err)
		}
		loaded = append(loaded, names...)
	}
	return loaded, nil
}

// importImage unpacks the layers of src the store lacks and then, in one
// index update, adds the image and its names.
func (s *Store) importImage(ctx context.Context, src *source, progress func(string)) (loaded []string, err error) {
	id := digestOf(src.config)
	if src.configDigest != "" && src.configDigest != id {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("config of manifest %s does not match its digest %s", src.manifestDigest, src.configDigest))
	}
	cfg, err := parseConfig(src.config)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", id, err)
	}
	if len(cfg.diffIDs) != len(src.layers) {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("image %s: config lists %d layers, the archive %d", id, len(cfg.diffIDs), len(src.layers)))
	}
	chains := chainIDs(cfg.diffIDs)

	// Layers the store has, and the blobs about to be written, are
	// pinned so that a Remove meanwhile keeps them; layers the store
	// lacks get a directory number each.
	s.mu.Lock()
	pinned := []string{id}
	if src.manifestDigest != "" {
		pinned = append(pinned, src.manifestDigest)
	}
	for _, p := range pinned {
		s.pins[p]++
	}
	dirs := map[int]int{}
	for i, c := range chains {
		if s.st.Layers[c] != nil {
			s.pins[c]++
			pinned = append(pinned, c)
			continue
		}
		dirs[i] = s.st.NextLayer
		s.st.NextLayer++
	}
	s.mu.Unlock()
	defer func() { s.unpin(pinned) }()

	added := map[string]*layerRecord{}
	defer func() {
		if err != nil {
			for _, l := range added {
				os.RemoveAll(s.layerPath(l.Dir))
			}
		}
	}()
	src.blobs = make([]blobRecord, len(chains))
	for i := range chains {
		var b blobRecord
		if dir, ok := dirs[i]; ok {
			rec, blob, err := s.unpackLayer(ctx, src.layers[i], cfg.diffIDs[i], dir)
			if err != nil {
				return nil, fmt.Errorf("image %s: layer %s: %w", id, cfg.diffIDs[i], err)
			}
			added[chains[i]] = rec
			b = blob
		} else if b, err = describeBlob(src.layers[i]); err != nil {
			return nil, fmt.Errorf("image %s: layer %s: %w", id, cfg.diffIDs[i], err)
		}
		src.blobs[i] = b
		s.pin(b.Digest)
		pinned = append(pinned, b.Digest)
		if src.layers[i].path != s.blobPath(b.Digest) {
			if err := s.adoptBlob(src.layers[i].path, b.Digest); err != nil {
				return nil, err
			}
		}
	}
	if err := s.writeBlob(id, src.config); err != nil {
		return nil, err
	}
	if src.manifestDigest != "" {
		if err := s.writeBlob(src.manifestDigest, src.manifest); err != nil {
			return nil, err
		}
	}
	// The index must never name a layer whose files could still be lost.
	// (Blobs were synced one by one.)
	if len(added) > 0 {
		if err := syncFS(s.root); err != nil {
			return nil, err
		}
	}

	lines, loaded, discard, err := s.commitImage(id, chains, cfg, src, added)
	if err != nil {
		return nil, err
	}
	for _, l := range discard {
		os.RemoveAll(s.layerPath(l.Dir))
	}
	for _, l := range lines {
		progress(l)
	}
	return loaded, nil
}

// commitImage records an imported image and its names. Layers another
// load recorded meanwhile win; ours are returned to be discarded.
func (s *Store) commitImage(id string, chains []string, cfg *imageConfig, src *source, added map[string]*layerRecord) (lines, loaded []string, discard []*layerRecord, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.st.clone()
	for c, l := range added {
		if next.Layers[c] != nil {
			discard = append(discard, l)
			continue
		}
		next.Layers[c] = l
	}
	rec := &imageRecord{ID: id, ChainIDs: chains, ManifestDigest: src.manifestDigest, Blobs: src.blobs}
	if old := next.Images[id]; old != nil {
		if len(rec.Blobs) == 0 {
			rec.Blobs = old.Blobs
		}
		rec.RepoDigests = slices.Clone(old.RepoDigests)
		if rec.ManifestDigest == "" {
			rec.ManifestDigest = old.ManifestDigest
		}
	}
	for _, d := range src.repoDigests {
		if !slices.Contains(rec.RepoDigests, d.String()) {
			rec.RepoDigests = append(rec.RepoDigests, d.String())
		}
	}
	next.Images[id] = rec
	for _, n := range src.names {
		fam := reference.FamiliarString(n)
		if old, ok := next.Tags[n.String()]; ok && old != id {
			lines = append(lines, fmt.Sprintf("The image %s already exists, renaming the old one with ID %s to empty string", fam, old))
		}
		next.Tags[n.String()] = id
		lines = append(lines, "Loaded image: "+fam)
		loaded = append(loaded, fam)
	}
	if len(src.names) == 0 {
		lines = append(lines, "Loaded image ID: "+id)
		loaded = append(loaded, id)
	}
	if err := s.save(next); err != nil {
		return nil, nil, nil, err
	}
	s.st = next
	s.configs[id] = cfg
	return lines, loaded, discard, nil
}

func (s *Store) unpin(chains []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range chains {
		if s.pins[c]--; s.pins[c] <= 0 {
			delete(s.pins, c)
		}
	}
}

// unpackLayer unpacks one layer file into a scratch directory, checks
// the digests of the file (when known) and of its tar, and renames the
// directory to layers/<dir>.
func (s *Store) unpackLayer(ctx context.Context, l sourceLayer, diffID string, dir int) (rec *layerRecord, blob blobRecord, err error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, blob, fmt.Errorf("open layer: %w", err)
	}
	defer f.Close()
	blobHash := sha256.New()
	counter := &countingWriter{progress: l.progress}
	dr, comp, err := unpack.Decompress(io.TeeReader(f, io.MultiWriter(blobHash, counter)))
	if err != nil {
		return nil, blob, fmt.Errorf("%w: %w", errdefs.ErrInvalidArgument, err)
	}
	defer dr.Close()

	tmp, err := os.MkdirTemp(s.tmpDir(), "layer-")
	if err != nil {
		return nil, blob, fmt.Errorf("unpack layer: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	// MkdirTemp makes 0700; a layer's root is 0755 unless its tar says
	// otherwise.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, blob, fmt.Errorf("unpack layer: %w", err)
	}
	diffHash := sha256.New()
	tar := io.TeeReader(dr, diffHash)
	size, err := unpack.Apply(ctx, tmp, tar)
	if err != nil {
		return nil, blob, fmt.Errorf("unpack layer: %w", err)
	}
	// The digests cover the padding after the tar's end, and the rest
	// of the file after the compressed stream.
	if _, err := io.Copy(io.Discard, tar); err != nil {
		return nil, blob, fmt.Errorf("%w: read layer: %w", errdefs.ErrInvalidArgument, err)
	}
	if _, err := io.Copy(blobHash, f); err != nil {
		return nil, blob, fmt.Errorf("read layer: %w", err)
	}
	if got := "sha256:" + hex.EncodeToString(diffHash.Sum(nil)); got != diffID {
		return nil, blob, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("layer content has digest %s, the image config says %s", got, diffID))
	}
	blob = blobRecord{Digest: "sha256:" + hex.EncodeToString(blobHash.Sum(nil)), MediaType: l.mediaType, Size: counter.n}
	if blob.MediaType == "" {
		blob.MediaType = layerMediaType(comp)
	}
	if got := blob.Digest; l.digest != "" && got != l.digest {
		return nil, blob, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("layer blob has digest %s, the manifest says %s", got, l.digest))
	}
	if err := os.Rename(tmp, s.layerPath(dir)); err != nil {
		return nil, blob, fmt.Errorf("unpack layer: %w", err)
	}
	return &layerRecord{Dir: dir, DiffID: diffID, Size: size}, blob, nil
}

type countingWriter struct {
	n        int64
	progress func(n int64)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	if c.progress != nil {
		c.progress(c.n)
	}
	return len(p), nil
}

// layerMediaType is the OCI media type of a layer blob compressed with c.
func layerMediaType(c unpack.Compression) string {
	switch c {
	case unpack.Gzip:
		return string(types.OCILayer)
	case unpack.Zstd:
		return string(types.OCILayerZStd)
	}
	return string(types.OCIUncompressedLayer)
}

// describeBlob finds the digest, size and media type of a layer file
// that was not unpacked, because the store has its layer already.
func describeBlob(l sourceLayer) (blobRecord, error) {
	fi, err := os.Stat(l.path)
	if err != nil {
		return blobRecord{}, fmt.Errorf("read layer: %w", err)
	}
	b := blobRecord{Digest: l.digest, MediaType: l.mediaType, Size: fi.Size()}
	if b.Digest == "" {
		if b.Digest, err = hashFile(l.path); err != nil {
			return blobRecord{}, fmt.Errorf("read layer: %w", err)
		}
	}
	if b.MediaType == "" {
		f, err := os.Open(l.path)
		if err != nil {
			return blobRecord{}, fmt.Errorf("read layer: %w", err)
		}
		head := make([]byte, 6)
		n, _ := io.ReadFull(f, head)
		f.Close()
		b.MediaType = layerMediaType(unpack.Detect(head[:n]))
	}
	return b, nil
}

package image

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sync/errgroup"

	"github.com/skiffrun/skiff/guest/api/ociplatform"
)

// Progress is one update of a pull or push, in docker's terms. A layer's
// update has ID, its short digest; an update without ID is a line of its
// own.
type Progress struct {
	ID      string
	Status  string
	Current int64
	Total   int64
}

// PullOptions are a pull's settings.
type PullOptions struct {
	// Platform is os/arch[/variant]; empty means this machine's.
	Platform string
	Registry RegistryOptions
	// Progress, when set, is called with each update, from several
	// goroutines at once.
	Progress func(Progress)
}

// PullResult is what a pull did.
type PullResult struct {
	// Name is the normalized reference pulled.
	Name string
	// Digest is the digest of what the reference points at: the image
	// index for a multi-platform image, else the manifest.
	Digest string
	ID     string
	// Updated reports whether the store changed: a new image, or a name
	// now pointing at another one.
	Updated bool
}

// pullJobs is how many layers a pull fetches at once, as docker does.
const pullJobs = 3

// Pull fetches ref from its registry into the store. Layers are
// downloaded into the blob store (temp file, digest check, sync,
// rename), each unpacked from disk as soon as it is whole, several at a
// time; a layer another pull is already downloading is waited for, not
// fetched twice. The image is listed only once every layer is unpacked:
// an interrupted pull leaves no image, and the blobs it completed serve
// the next pull.
func (s *Store) Pull(ctx context.Context, ref string, o PullOptions) (*PullResult, error) {
	named, rref, err := parseRemote(ref, o.Registry)
	if err != nil {
		return nil, err
	}
	report := o.Progress
	if report == nil {
		report = func(Progress) {}
	}
	plat, err := parsePlatform(o.Platform)
	if err != nil {
		return nil, err
	}
	ropts := remoteOptions(ctx, rref, o.Registry)
	desc, err := remote.Get(rref, ropts...)
	if err != nil {
		return nil, registryError(err, named, false)
	}
	if t, ok := named.(reference.Tagged); ok {
		report(Progress{ID: t.Tag(), Status: "Pulling from " + reference.Path(named)})
	} else if c, ok := named.(reference.Canonical); ok {
		report(Progress{ID: c.Digest().String(), Status: "Pulling from " + reference.Path(named)})
	}

	var img v1.Image
	switch {
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, registryError(err, named, false)
		}
		child, err := choosePlatform(idx, plat)
		if err != nil {
			return nil, err
		}
		if img, err = idx.Image(child); err != nil {
			return nil, registryError(err, named, false)
		}
	case desc.MediaType.IsImage():
		if img, err = desc.Image(); err != nil {
			return nil, registryError(err, named, false)
		}
	default:
		return nil, errdefs.ErrNotImplemented.WithMessage(fmt.Sprintf("%s is a %s, which skiff cannot run; only images (docker v2 schema 2 or OCI) can be pulled", reference.FamiliarString(named), desc.MediaType))
	}
	src, err := remoteSource(img, named, desc.Digest.String())
	if err != nil {
		return nil, registryError(err, named, false)
	}
	res := &PullResult{Name: named.String(), Digest: desc.Digest.String(), ID: digestOf(src.config)}
	res.Updated, err = s.pullImage(ctx, img, src, report)
	if err != nil {
		return nil, registryError(err, named, false)
	}
	return res, nil
}

// remoteSource reads the manifest and config of img, checking both
// against their digests.
func remoteSource(img v1.Image, named reference.Named, top string) (*source, error) {
	manifest, err := img.RawManifest()
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(strings.NewReader(string(manifest)))
	if err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("parse manifest: %v", err))
	}
	config, err := img.RawConfigFile()
	if err != nil {
		return nil, err
	}
	src := &source{
		manifest:       manifest,
		manifestDigest: digestOf(manifest),
		config:         config,
		configDigest:   m.Config.Digest.String(),
	}
	if t, ok := named.(reference.NamedTagged); ok {
		src.names = []reference.NamedTagged{t}
	}
	if c, err := reference.WithDigest(reference.TrimNamed(named), digest.Digest(top)); err == nil {
		src.repoDigests = []reference.Canonical{c}
	}
	for _, l := range m.Layers {
		if l.Digest.Algorithm != "sha256" {
			return nil, errdefs.ErrNotImplemented.WithMessage(fmt.Sprintf("layer %s: only sha256 digests are supported", l.Digest))
		}
		if l.MediaType.IsDistributable() || l.MediaType.IsLayer() {
			src.blobs = append(src.blobs, blobRecord{Digest: l.Digest.String(), MediaType: string(l.MediaType), Size: l.Size})
			continue
		}
		return nil, errdefs.ErrNotImplemented.WithMessage(fmt.Sprintf("layer %s has media type %s, which skiff cannot unpack", l.Digest, l.MediaType))
	}
	return src, nil
}

// pullImage fetches and unpacks what the store lacks of src, then
// records the image and its names.
func (s *Store) pullImage(ctx context.Context, img v1.Image, src *source, report func(Progress)) (updated bool, err error) {
	id := digestOf(src.config)
	if src.configDigest != id {
		return false, errdefs.ErrDataLoss.WithMessage(fmt.Sprintf("config of manifest %s does not match its digest %s", src.manifestDigest, src.configDigest))
	}
	cfg, err := parseConfig(src.config)
	if err != nil {
		return false, fmt.Errorf("image %s: %w", id, err)
	}
	if len(cfg.diffIDs) != len(src.blobs) {
		return false, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("image %s: config lists %d layers, the manifest %d", id, len(cfg.diffIDs), len(src.blobs)))
	}
	chains := chainIDs(cfg.diffIDs)

	s.mu.Lock()
	pinned := []string{id, src.manifestDigest}
	dirs := map[int]int{}
	for i, c := range chains {
		pinned = append(pinned, c, src.blobs[i].Digest)
		if s.st.Layers[c] == nil {
			dirs[i] = s.st.NextLayer
			s.st.NextLayer++
		}
	}
	for _, p := range pinned {
		s.pins[p]++
	}
	s.mu.Unlock()
	defer s.unpin(pinned)

	var mu sync.Mutex
	added := map[string]*layerRecord{}
	defer func() {
		if err != nil {
			for _, l := range added {
				os.RemoveAll(s.layerPath(l.Dir))
			}
		}
	}()
	for _, b := range src.blobs {
		report(Progress{ID: shortID(b.Digest), Status: "Pulling fs layer"})
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(pullJobs)
	for i, b := range src.blobs {
		dir, missing := dirs[i]
		g.Go(func() error {
			short := shortID(b.Digest)
			if !missing && s.hasBlob(b.Digest) {
				report(Progress{ID: short, Status: "Already exists"})
				return nil
			}
			if err := s.fetchBlob(gctx, img, b, func(p Progress) { p.ID = short; report(p) }); err != nil {
				return fmt.Errorf("layer %s: %w", b.Digest, err)
			}
			if !missing {
				report(Progress{ID: short, Status: "Pull complete"})
				return nil
			}
			l := sourceLayer{path: s.blobPath(b.Digest), digest: b.Digest, mediaType: b.MediaType}
			l.progress = throttle(func(n int64) {
				report(Progress{ID: short, Status: "Extracting", Current: n, Total: b.Size})
			})
			rec, _, err := s.unpackLayer(gctx, l, cfg.diffIDs[i], dir)
			if err != nil {
				return fmt.Errorf("layer %s: %w", b.Digest, err)
			}
			mu.Lock()
			added[chains[i]] = rec
			mu.Unlock()
			report(Progress{ID: short, Status: "Pull complete"})
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return false, err
	}
	if err := s.writeBlob(id, src.config); err != nil {
		return false, err
	}
	if err := s.writeBlob(src.manifestDigest, src.manifest); err != nil {
		return false, err
	}
	if len(added) > 0 {
		if err := syncFS(s.root); err != nil {
			return false, err
		}
	}
	s.mu.Lock()
	before := s.st.Images[id] != nil
	for _, n := range src.names {
		before = before && s.st.Tags[n.String()] == id
	}
	s.mu.Unlock()
	_, _, discard, err := s.commitImage(id, chains, cfg, src, added)
	if err != nil {
		return false, err
	}
	for _, l := range discard {
		os.RemoveAll(s.layerPath(l.Dir))
	}
	return !before, nil
}

// fetchBlob downloads the blob b of img into the store, unless it is
// there. Pulls that want the same blob at once share one download.
func (s *Store) fetchBlob(ctx context.Context, img v1.Image, b blobRecord, report func(Progress)) error {
	for {
		if s.hasBlob(b.Digest) {
			return nil
		}
		ch := s.fetches.DoChan(b.Digest, func() (any, error) {
			return nil, s.downloadBlob(ctx, img, b, report)
		})
		select {
		case <-ctx.Done():
			return ctx.Err()
		case r := <-ch:
			if r.Err == nil {
				return nil
			}
			// Another pull's download ended with that pull, not with
			// this one: start again.
			if (errors.Is(r.Err, context.Canceled) || errors.Is(r.Err, context.DeadlineExceeded)) && ctx.Err() == nil {
				continue
			}
			return r.Err
		}
	}
}

func (s *Store) downloadBlob(ctx context.Context, img v1.Image, b blobRecord, report func(Progress)) error {
	if s.hasBlob(b.Digest) {
		return nil
	}
	h, err := v1.NewHash(b.Digest)
	if err != nil {
		return errdefs.ErrInvalidArgument.WithMessage(err.Error())
	}
	l, err := img.LayerByDigest(h)
	if err != nil {
		return err
	}
	rc, err := l.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	progress := throttle(func(n int64) {
		report(Progress{Status: "Downloading", Current: n, Total: b.Size})
	})
	if err := s.writeBlobFrom(ctx, rc, b.Digest, progress); err != nil {
		return err
	}
	report(Progress{Status: "Download complete"})
	return nil
}

// throttle calls f at most ten times a second, and always for the
// first call.
func throttle(f func(n int64)) func(n int64) {
	var last time.Time
	return func(n int64) {
		if now := time.Now(); now.Sub(last) >= 100*time.Millisecond {
			last = now
			f(n)
		}
	}
}

// parsePlatform parses os/arch[/variant]; empty is this machine's.
func parsePlatform(p string) (v1.Platform, error) {
	if p == "" {
		return toV1(ociplatform.Machine()), nil
	}
	plat, err := ociplatform.Parse(p)
	if err != nil {
		return v1.Platform{}, err
	}
	return toV1(plat), nil
}

func toV1(p ociplatform.Platform) v1.Platform {
	return v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}
}

func fromV1(p v1.Platform) ociplatform.Platform {
	return ociplatform.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}
}

// choosePlatform picks the manifest of idx for plat: the best of those
// that run as plat (a platform without a variant takes any variant of
// its architecture). Another architecture never stands in, even one the
// machine could run (386 on amd64): that takes --platform, as in docker.
func choosePlatform(idx v1.ImageIndex, plat v1.Platform) (v1.Hash, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return v1.Hash{}, err
	}
	var ds []v1.Descriptor
	var ps []ociplatform.Platform
	for _, d := range m.Manifests {
		if d.Platform == nil || !d.MediaType.IsImage() {
			continue
		}
		ds = append(ds, d)
		ps = append(ps, fromV1(*d.Platform))
	}
	want := fromV1(plat)
	if i := ociplatform.NewMatcher(want).Best(ps); i >= 0 {
		return ds[i].Digest, nil
	}
	return v1.Hash{}, ociplatform.NoMatch(want, ps)
}

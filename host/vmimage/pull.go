package vmimage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/skiffrun/skiff/guest/api/atomicfile"
	"github.com/skiffrun/skiff/guest/api/errclass"
	"github.com/skiffrun/skiff/guest/api/filelock"
	"github.com/skiffrun/skiff/host/progress"
)

// Options say how to reach a registry and where to show a pull.
type Options struct {
	// Arch is the architecture to fetch; "" is this host's.
	Arch string
	// Keychain gives credentials; nil is docker's config.json.
	Keychain authn.Keychain
	// Insecure are registries (host[:port]) reached over plain HTTP;
	// loopback ones always are.
	Insecure []string
	// Transport carries the requests; nil is Go's default.
	Transport http.RoundTripper
	// Out, when set, shows the pull's progress as docker pull does (on a
	// terminal when Terminal is set).
	Out      io.Writer
	Terminal bool

	// create opens a new file for writing; tests fill the disk with it.
	create func(path string) (writeFile, error)
}

type writeFile interface {
	io.Writer
	Sync() error
	Close() error
}

func (o Options) arch() string {
	if o.Arch != "" {
		return o.Arch
	}
	return runtime.GOARCH
}

func (o Options) remote(ctx context.Context) []remote.Option {
	kc := o.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc), remote.WithUserAgent("skiff")}
	if o.Transport != nil {
		opts = append(opts, remote.WithTransport(o.Transport))
	}
	return opts
}

// parseRef parses a guest image reference.
func (o Options) parseRef(ref string) (name.Reference, error) {
	r, err := name.ParseReference(ref, name.WithDefaultTag("latest"))
	if err != nil {
		return nil, errclass.Errorf(errdefs.ErrInvalidArgument, "guest image reference %q: %v", ref, err)
	}
	if slices.Contains(o.Insecure, r.Context().RegistryStr()) {
		if r, err = name.ParseReference(ref, name.WithDefaultTag("latest"), name.Insecure); err != nil {
			return nil, errclass.Errorf(errdefs.ErrInvalidArgument, "guest image reference %q: %v", ref, err)
		}
	}
	return r, nil
}

// Image is a guest image in the cache.
type Image struct {
	// Ref is where it came from, REPO@DIGEST.
	Ref string
	// Digest is its index's digest.
	Digest string
	// Dir holds its files for one architecture.
	Dir      string
	Manifest Manifest
}

// Cache is the guest images pulled on this host, in Dir
// ($SKIFF_HOME/vmimage).
type Cache struct{ Dir string }

func (c Cache) imageDir(digest v1.Hash, arch string) string {
	return filepath.Join(c.Dir, digest.Algorithm+"-"+digest.Hex, arch)
}

// Lookup returns the cached image of a reference pinned by digest, or a
// tag's last resolved digest, without reaching its registry.
func (c Cache) Lookup(ref string, o Options) (Image, bool) {
	r, err := o.parseRef(ref)
	if err != nil {
		return Image{}, false
	}
	d, ok := r.(name.Digest)
	if !ok {
		if d, ok = c.tag(r); !ok {
			return Image{}, false
		}
	}
	return c.lookup(d, o.arch())
}

func (c Cache) lookup(d name.Digest, arch string) (Image, bool) {
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return Image{}, false
	}
	dir := c.imageDir(h, arch)
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return Image{}, false
	}
	m, err := ParseManifest(b)
	if err != nil || m.Arch != arch {
		return Image{}, false
	}
	for _, p := range m.parts() {
		if st, err := os.Stat(filepath.Join(dir, p.File.File)); err != nil || st.Size() != p.Size {
			return Image{}, false
		}
	}
	return Image{Ref: d.Context().Name() + "@" + h.String(), Digest: h.String(), Dir: dir, Manifest: m}, true
}

// Get returns ref's image from the cache, pulling it when it is not
// there (pulled says so). A tag is resolved by its registry; when that
// cannot be reached, the digest it last resolved to is used if cached.
func (c Cache) Get(ctx context.Context, ref string, o Options) (img Image, pulled bool, err error) {
	r, err := o.parseRef(ref)
	if err != nil {
		return Image{}, false, err
	}
	d, ok := r.(name.Digest)
	if !ok {
		desc, herr := remote.Head(r, o.remote(ctx)...)
		if herr != nil {
			if last, ok := c.tag(r); ok {
				if img, ok := c.lookup(last, o.arch()); ok {
					return img, false, nil
				}
			}
			return Image{}, false, registryError(ref, herr)
		}
		d = r.Context().Digest(desc.Digest.String())
	}
	if img, ok := c.lookup(d, o.arch()); ok {
		c.saveTag(r, d)
		return img, false, nil
	}
	img, err = c.pull(ctx, ref, d, o)
	if err != nil {
		return Image{}, false, err
	}
	c.saveTag(r, d)
	return img, true, nil
}

// registryError words a failure to reach ref's registry, or its answer.
func registryError(ref string, err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		if te.StatusCode == http.StatusNotFound {
			return errclass.Errorf(errdefs.ErrNotFound, "guest image %s is not in its registry (%v); check the reference", ref, err)
		}
		return fmt.Errorf("guest image %s: %w", ref, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("pull guest image %s: %w", ref, err)
	}
	return errclass.Errorf(errdefs.ErrUnavailable, "cannot reach the registry of guest image %s (%v); check the network, point SKIFF_VMIMAGE_REF at a mirror, or SKIFF_VMIMAGE at a guest image folder (make vmimage)", ref, oneLine(err))
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

// tagsFile maps the tags Get resolved to their digests.
func (c Cache) tagsFile() string { return filepath.Join(c.Dir, "tags.json") }

func (c Cache) tags() map[string]string {
	m := map[string]string{}
	if b, err := os.ReadFile(c.tagsFile()); err == nil {
		_ = json.Unmarshal(b, &m)
	}
	return m
}

func (c Cache) tag(r name.Reference) (name.Digest, bool) {
	d, ok := c.tags()[r.Name()]
	if !ok {
		return name.Digest{}, false
	}
	nd, err := name.NewDigest(r.Context().Name()+"@"+d, name.WeakValidation)
	return nd, err == nil
}

// saveTag records the digest a tag resolved to; a failure only costs
// starting offline.
func (c Cache) saveTag(r name.Reference, d name.Digest) {
	if _, isTag := r.(name.Tag); !isTag {
		return
	}
	m := c.tags()
	if m[r.Name()] == d.DigestStr() {
		return
	}
	m[r.Name()] = d.DigestStr()
	if b, err := json.MarshalIndent(m, "", "  "); err == nil {
		_ = atomicfile.WriteFile(c.tagsFile(), append(b, '\n'))
	}
}

// pull fetches and checks everything that says what d is (its index, the
// manifest of the architecture and its manifest.json) before writing
// anything, then downloads its files into a temporary folder, verifying
// each, and renames the folder into the cache.
func (c Cache) pull(ctx context.Context, ref string, d name.Digest, o Options) (Image, error) {
	arch := o.arch()
	ropts := o.remote(ctx)
	idx, err := remote.Get(d, ropts...)
	if err != nil {
		return Image{}, registryError(ref, err)
	}
	if err := verifyDigest(ref, "index", idx.Manifest, d.DigestStr()); err != nil {
		return Image{}, err
	}
	mdesc, err := pickManifest(ref, idx.MediaType, idx.Manifest, arch)
	if err != nil {
		return Image{}, err
	}
	repo := d.Context()
	man, err := remote.Get(repo.Digest(mdesc.Digest.String()), ropts...)
	if err != nil {
		return Image{}, registryError(ref, err)
	}
	if err := verifyDigest(ref, "linux/"+arch+" manifest", man.Manifest, mdesc.Digest.String()); err != nil {
		return Image{}, err
	}
	a, err := parseArtifact(ref, man.Manifest)
	if err != nil {
		return Image{}, err
	}
	cfg, err := fetchSmall(repo.Digest(a.config.Digest.String()), a.config.Size, ropts)
	if err != nil {
		return Image{}, fmt.Errorf("guest image %s: fetch manifest.json (%s): %w", ref, a.config.Digest, err)
	}
	if err := verifyDigest(ref, "manifest.json", cfg, a.config.Digest.String()); err != nil {
		return Image{}, err
	}
	m, err := ParseManifest(cfg)
	if err != nil {
		return Image{}, errNotGuestImage(ref, "%v", err)
	}
	if m.Arch != arch {
		return Image{}, errNotGuestImage(ref, "its linux/%s manifest.json is for %s", arch, m.Arch)
	}
	layers, err := a.match(ref, m)
	if err != nil {
		return Image{}, err
	}

	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return Image{}, fmt.Errorf("create the guest image cache: %w", err)
	}
	unlock, err := filelock.Lock(ctx, filepath.Join(c.Dir, ".lock"))
	if err != nil {
		return Image{}, fmt.Errorf("wait for another pull of the guest image: %w", err)
	}
	defer unlock()
	// What an interrupted pull left; no other pull runs while the lock
	// is held.
	if old, err := filepath.Glob(filepath.Join(c.Dir, ".tmp-*")); err == nil {
		for _, p := range old {
			_ = os.RemoveAll(p)
		}
	}
	if img, ok := c.lookup(d, arch); ok {
		return img, nil
	}
	lines := (*progress.Lines)(nil)
	if o.Out != nil {
		lines = progress.NewLines(o.Out, o.Terminal)
		lines.Println(fmt.Sprintf("Pulling guest image %s (linux/%s)", ref, arch))
	}
	tmp, err := os.MkdirTemp(c.Dir, ".tmp-")
	if err != nil {
		return Image{}, fmt.Errorf("create a folder for the guest image: %w", err)
	}
	defer os.RemoveAll(tmp)
	work := filepath.Join(tmp, arch)
	if err := os.Mkdir(work, 0o755); err != nil {
		return Image{}, fmt.Errorf("create a folder for the guest image: %w", err)
	}
	if lines != nil {
		for _, l := range layers {
			lines.Update(shortID(l.Digest.String()), "Waiting", 0, 0)
		}
	}
	for i, p := range m.parts() {
		if err := fetchFile(repo.Digest(layers[i].Digest.String()), filepath.Join(work, p.File.File), p.File, ropts, lines, o); err != nil {
			return Image{}, fileError(ref, c.Dir, p.File.File, layers[i].Digest.String(), err)
		}
	}
	// The manifest goes last: a folder with one has every file it names.
	if err := writeAll(filepath.Join(work, ManifestFile), cfg, o); err != nil {
		return Image{}, fileError(ref, c.Dir, ManifestFile, a.config.Digest.String(), err)
	}
	h, _ := v1.NewHash(d.DigestStr())
	final := c.imageDir(h, arch)
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return Image{}, fmt.Errorf("create the guest image folder: %w", err)
	}
	_ = os.RemoveAll(final) // a folder lookup refused: incomplete or damaged
	if err := os.Rename(work, final); err != nil {
		return Image{}, fmt.Errorf("move the guest image into %s: %w", final, err)
	}
	if lines != nil {
		lines.Println("Digest: " + d.DigestStr())
		lines.Println("Status: Downloaded guest image " + ref)
	}
	return Image{Ref: repo.Name() + "@" + d.DigestStr(), Digest: d.DigestStr(), Dir: final, Manifest: m}, nil
}

func verifyDigest(ref, what string, b []byte, want string) error {
	sum := sha256.Sum256(b)
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != want {
		return errclass.Errorf(errdefs.ErrDataLoss, "guest image %s: the %s the registry sent hashes to %s, not %s: refused", ref, what, got, want)
	}
	return nil
}

// fetchSmall reads a small blob whole.
func fetchSmall(d name.Digest, size int64, ropts []remote.Option) ([]byte, error) {
	l, err := remote.Layer(d, ropts...)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, size+1))
	if err != nil {
		// A blob of the wrong content ends in the verifier's error.
		return b, err
	}
	if int64(len(b)) != size {
		return nil, fmt.Errorf("%d bytes; want %d", len(b), size)
	}
	return b, nil
}

// errMismatch is a file whose bytes are not the ones its digest names.
type errMismatch struct{ got string }

func (e errMismatch) Error() string { return "its content hashes to " + e.got }

// shortID is a digest as docker shows a layer's: 12 hex digits.
func shortID(digest string) string {
	h := strings.TrimPrefix(digest, "sha256:")
	return h[:min(12, len(h))]
}

// fetchFile downloads one layer into path, checking its size and sha256
// as it goes and showing progress on lines.
func fetchFile(d name.Digest, path string, f File, ropts []remote.Option, lines *progress.Lines, o Options) (err error) {
	id := shortID(d.DigestStr())
	show := func(status string, n int64) {
		if lines != nil {
			lines.Update(id, status, n, f.Size)
		}
	}
	showDone := func(status string) {
		if lines != nil {
			lines.Update(id, status, 0, 0)
		}
	}
	l, err := remote.Layer(d, ropts...)
	if err != nil {
		return err
	}
	rc, err := l.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	w, err := o.createFile(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}()
	hash := sha256.New()
	var n int64
	last := time.Time{}
	buf := make([]byte, 1<<20)
	src := io.LimitReader(rc, f.Size+1)
	for {
		k, rerr := src.Read(buf)
		if k > 0 {
			if _, werr := w.Write(buf[:k]); werr != nil {
				return werr
			}
			hash.Write(buf[:k])
			n += int64(k)
			if now := time.Now(); now.Sub(last) >= progress.Tick {
				show("Downloading", n)
				last = now
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			if got := "sha256:" + hex.EncodeToString(hash.Sum(nil)); n == f.Size && got != "sha256:"+f.SHA256 {
				return errMismatch{got}
			}
			return rerr
		}
	}
	if n != f.Size {
		return fmt.Errorf("the registry sent %d bytes; want %d", n, f.Size)
	}
	if got := "sha256:" + hex.EncodeToString(hash.Sum(nil)); got != "sha256:"+f.SHA256 {
		return errMismatch{got}
	}
	showDone("Verifying Checksum")
	if err := w.Sync(); err != nil {
		return err
	}
	showDone("Pull complete")
	return nil
}

func (o Options) createFile(path string) (writeFile, error) {
	if o.create != nil {
		return o.create(path)
	}
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
}

func writeAll(path string, b []byte, o Options) (err error) {
	w, err := o.createFile(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}()
	if _, err := io.Copy(w, bytes.NewReader(b)); err != nil {
		return err
	}
	return w.Sync()
}

// fileError words a failure to fetch or write one file of ref's image;
// nothing of the pull is kept either way.
func fileError(ref, cache, file, digest string, err error) error {
	var mm errMismatch
	switch {
	case errors.As(err, &mm):
		return errclass.Errorf(errdefs.ErrDataLoss, "guest image %s: blob %s (%s) does not match its digest (%s): refused, nothing was kept", ref, digest, file, mm.got)
	case isDiskFull(err):
		return fmt.Errorf("guest image %s: %w while writing %s into %s; nothing was kept: free some space there, then start the machine again", ref, errDiskFull, file, cache)
	}
	return fmt.Errorf("guest image %s: download %s (%s): %w; nothing was kept", ref, file, digest, err)
}

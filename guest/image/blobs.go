package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
)

// removeCorruptBlobs removes the entries of the blob directory that keep
// does not hold, unless they are whole blobs: named by the digest of
// their content. Those are what an interrupted pull completed, and the
// next pull of the same image uses them.
func removeCorruptBlobs(dir string, keep map[string]bool) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		name := e.Name()
		if keep[name] {
			continue
		}
		p := filepath.Join(dir, name)
		if e.Type().IsRegular() && digest.SHA256.Validate(name) == nil {
			if d, err := hashFile(p); err == nil && d == "sha256:"+name {
				continue
			}
		}
		errs = append(errs, os.RemoveAll(p))
	}
	return errors.Join(errs...)
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// hasBlob reports whether the blob digest is stored.
func (s *Store) hasBlob(digest string) bool {
	fi, err := os.Stat(s.blobPath(digest))
	return err == nil && fi.Mode().IsRegular()
}

// writebackChunk is how much of a download is written before the kernel
// is asked to start putting it on disk.
const writebackChunk = 8 << 20

// writeBlobFrom stores what r yields as the blob digest: written to a
// temp file, checked against the digest, synced, then renamed. progress,
// when set, is told the bytes written so far. Nothing is left behind
// when it fails.
func (s *Store) writeBlobFrom(ctx context.Context, r io.Reader, digest string, progress func(n int64)) (err error) {
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
	h := sha256.New()
	w := io.MultiWriter(f, h)
	buf := make([]byte, 1<<20)
	var n, flushed int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		m, rerr := r.Read(buf)
		if m > 0 {
			if _, err := w.Write(buf[:m]); err != nil {
				return fmt.Errorf("write blob %s: %w", digest, err)
			}
			n += int64(m)
			if n-flushed >= writebackChunk {
				// A hint: a failure only means the final fsync does it all.
				_ = startWriteback(f, flushed, n-flushed)
				flushed = n
			}
			if progress != nil {
				progress(n)
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return fmt.Errorf("read blob %s: %w", digest, rerr)
		}
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != digest {
		return errdefs.ErrDataLoss.WithMessage(fmt.Sprintf("blob %s arrived with digest %s; the registry sent something else, try again", digest, got))
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync blob %s: %w", digest, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write blob %s: %w", digest, err)
	}
	if err := os.Rename(f.Name(), s.blobPath(digest)); err != nil {
		return fmt.Errorf("write blob %s: %w", digest, err)
	}
	return nil
}

// adoptBlob links the file at p, whose digest the caller has checked,
// into the blob store, syncing it first. A blob already there wins. p
// stays, as an archive may name one layer file for several images.
func (s *Store) adoptBlob(p, digest string) error {
	if s.hasBlob(digest) {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("store blob %s: %w", digest, err)
	}
	err = f.Sync()
	f.Close()
	if err != nil {
		return fmt.Errorf("sync blob %s: %w", digest, err)
	}
	if err := os.Link(p, s.blobPath(digest)); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("store blob %s: %w", digest, err)
	}
	return nil
}

// pin marks keys (chain IDs or blob digests) as in use by a load or
// pull, so that a Remove or Prune meanwhile keeps them. The caller
// must unpin them.
func (s *Store) pin(keys ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		s.pins[k]++
	}
}

// digester hashes what is written to it into a "sha256:<hex>" digest.
type digester struct{ hash.Hash }

func newDigester() digester { return digester{sha256.New()} }

func (d digester) digest() string { return "sha256:" + hex.EncodeToString(d.Sum(nil)) }

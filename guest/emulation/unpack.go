package emulation

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// The guest image carries the interpreters zstd-compressed in PackedDir,
// with the set's identity (a digest of its content, made at build time)
// in PackedDir/ID. Kept as they were in the initramfs they would cost
// their whole size twice over on the host for as long as the machine
// runs: once in the guest's memory, where the initramfs unpacks, and once
// in the hypervisor's copy of the initramfs file. Unpack writes them once
// to the data disk instead, where they cost memory only while an
// emulated container runs, and removes the packed copies from memory.
const (
	// PackedDir is where the guest image has the packed interpreters.
	PackedDir = "/usr/lib/skiff/emulation"
	// PackedSuffix ends each packed interpreter's name.
	PackedSuffix = ".zst"
	// completeMark is the file Unpack writes last in a finished set.
	completeMark = ".complete"
	// maxInterpreter bounds one unpacked interpreter (they are ~13 MB).
	maxInterpreter = 256 << 20
)

// validID is what a set's identity may be: it names a folder. It is
// compiled on first use, not at the start of every process that
// links the package: each container's init is this binary too.
var validID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{16,64}$`) })

// Unpack makes the interpreters packed in src (PackedDir) available in a
// folder under cache, named for the set's ID, and returns that folder:
// unpacked on a machine's first boot with this image, found there on
// later ones. Sets of other IDs in cache are removed, and so are the
// packed copies in src, since the guest's root is memory. With nothing
// packed in src it returns "" and no error.
func Unpack(src, cache string) (string, error) {
	idData, err := os.ReadFile(filepath.Join(src, "ID"))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the emulators' ID: %w", err)
	}
	id := strings.TrimSpace(string(idData))
	if !validID().MatchString(id) {
		return "", fmt.Errorf("the emulators' ID %q is not a hex digest", id)
	}
	dir := filepath.Join(cache, id)
	if _, err := os.Stat(filepath.Join(dir, completeMark)); err != nil {
		if err := unpackSet(src, cache, id); err != nil {
			return "", err
		}
	}
	if err := removeOthers(cache, id); err != nil {
		return dir, err
	}
	packed, _ := filepath.Glob(filepath.Join(src, "*"+PackedSuffix))
	for _, p := range packed {
		if err := os.Remove(p); err != nil {
			return dir, fmt.Errorf("free the packed emulator: %w", err)
		}
	}
	return dir, nil
}

// unpackSet unpacks every packed interpreter of src into a temporary
// folder under cache and renames it to its ID once all are on disk, so a
// set is whole or absent.
func unpackSet(src, cache, id string) error {
	packed, err := filepath.Glob(filepath.Join(src, "*"+PackedSuffix))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return fmt.Errorf("make the emulators' folder: %w", err)
	}
	tmp := filepath.Join(cache, ".tmp-"+id)
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			_ = os.RemoveAll(tmp)
		}
	}()
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxInterpreter))
	if err != nil {
		return err
	}
	defer dec.Close()
	for _, p := range packed {
		name := strings.TrimSuffix(filepath.Base(p), PackedSuffix)
		if err := unpackFile(dec, p, filepath.Join(tmp, name)); err != nil {
			return fmt.Errorf("unpack emulator %s: %w", name, err)
		}
	}
	if err := writeSynced(filepath.Join(tmp, completeMark), nil, 0o644); err != nil {
		return err
	}
	if err := syncDir(tmp); err != nil {
		return err
	}
	dir := filepath.Join(cache, id)
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("install the emulators: %w", err)
	}
	ok = true
	return syncDir(cache)
}

func unpackFile(dec *zstd.Decoder, src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := dec.Reset(in); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	n, err := io.Copy(out, io.LimitReader(dec, maxInterpreter+1))
	if err == nil && n > maxInterpreter {
		err = fmt.Errorf("larger than %d bytes", maxInterpreter)
	}
	if err == nil {
		err = out.Sync()
	}
	if err == nil {
		dropCache(out)
	}
	return errors.Join(err, out.Close())
}

// removeOthers removes from cache every entry but the set id: sets of
// earlier images and a set cut short.
func removeOthers(cache, id string) error {
	ents, err := os.ReadDir(cache)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		if e.Name() != id {
			errs = append(errs, os.RemoveAll(filepath.Join(cache, e.Name())))
		}
	}
	return errors.Join(errs...)
}

func writeSynced(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

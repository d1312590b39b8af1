package qemu

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// manifestEntry is one file of the guest image as its manifest.json lists
// it: a top-level object naming its "file" ("kernel", "initramfs"), or an
// entry of a "files" object keyed by name or of a "files" array.
type manifestEntry struct {
	File   string `json:"file"`
	Name   string `json:"name"`
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// VerifyImage checks the kernel and initramfs against the manifest.json
// in their directory (sizes, then sha256), so a half-copied or mixed-up
// image fails with a clear message before a boot that would hang.
func VerifyImage(kernel, initrd string) error {
	dir := filepath.Dir(kernel)
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return fmt.Errorf("guest image %s: %w; rebuild it with make vmimage", dir, err)
	}
	entries, err := parseManifest(b)
	if err != nil {
		return fmt.Errorf("guest image %s: manifest.json: %w", dir, err)
	}
	for _, f := range []string{kernel, initrd} {
		e, ok := entries[filepath.Base(f)]
		if !ok {
			return fmt.Errorf("guest image %s: manifest.json does not list %s; rebuild it with make vmimage", dir, filepath.Base(f))
		}
		if err := verifyFile(f, e); err != nil {
			return fmt.Errorf("guest image %s: %w; rebuild it with make vmimage", dir, err)
		}
	}
	return nil
}

func parseManifest(b []byte) (map[string]manifestEntry, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, err
	}
	out := map[string]manifestEntry{}
	for _, raw := range top {
		var e manifestEntry
		if json.Unmarshal(raw, &e) == nil && e.File != "" {
			out[e.File] = e
		}
	}
	var m struct {
		Files json.RawMessage `json:"files"`
	}
	if err := json.Unmarshal(b, &m); err != nil || m.Files == nil {
		if len(out) == 0 {
			return nil, errors.New("it lists no files")
		}
		return out, nil
	}
	var byName map[string]manifestEntry
	if err := json.Unmarshal(m.Files, &byName); err == nil {
		for name, e := range byName {
			out[name] = e
		}
		return out, nil
	}
	var list []manifestEntry
	if err := json.Unmarshal(m.Files, &list); err != nil {
		return nil, fmt.Errorf("no \"files\" object or list: %w", err)
	}
	for _, e := range list {
		name := e.Name
		if name == "" {
			name = filepath.Base(e.Path)
		}
		out[name] = e
	}
	return out, nil
}

func verifyFile(path string, e manifestEntry) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if e.Size != 0 && st.Size() != e.Size {
		return fmt.Errorf("%s is %d bytes, the manifest says %d", filepath.Base(path), st.Size(), e.Size)
	}
	if e.SHA256 == "" {
		return nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != e.SHA256 {
		return fmt.Errorf("%s has sha256 %s, the manifest says %s", filepath.Base(path), got, e.SHA256)
	}
	return nil
}

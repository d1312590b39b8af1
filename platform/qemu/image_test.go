package qemu

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVerifyImage(t *testing.T) {
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	tests := []struct {
		name     string
		manifest string
		want     string
	}{
		{"object", fmt.Sprintf(`{"files":{"vmlinux":{"size":6,"sha256":%q},"initramfs.cpio.gz":{"size":4,"sha256":%q}}}`, sum("kernel"), sum("init")), ""},
		{"list", fmt.Sprintf(`{"arch":"amd64","files":[{"path":"build/vmlinux","size":6,"sha256":%q},{"name":"initramfs.cpio.gz","size":4}]}`, sum("kernel")), ""},
		{"top-level files", fmt.Sprintf(`{"arch":"amd64","kernel":{"file":"vmlinux","size":6,"sha256":%q},"initramfs":{"file":"initramfs.cpio.gz","size":4}}`, sum("kernel")), ""},
		{"wrong size", `{"files":{"vmlinux":{"size":7},"initramfs.cpio.gz":{"size":4}}}`, "vmlinux is 6 bytes, the manifest says 7"},
		{"wrong sum", fmt.Sprintf(`{"files":{"vmlinux":{"size":6,"sha256":%q},"initramfs.cpio.gz":{}}}`, sum("other")), "has sha256"},
		{"missing file", `{"files":{"vmlinux":{"size":6}}}`, "does not list initramfs.cpio.gz"},
		{"not json", `nope`, "manifest.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			k, i := filepath.Join(dir, "vmlinux"), filepath.Join(dir, "initramfs.cpio.gz")
			os.WriteFile(k, []byte("kernel"), 0o644)
			os.WriteFile(i, []byte("init"), 0o644)
			os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(tc.manifest), 0o644)
			err := VerifyImage(k, i)
			if tc.want == "" {
				if err != nil {
					t.Errorf("VerifyImage = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "make vmimage") && tc.name != "not json" {
				t.Errorf("VerifyImage = %v, want %q", err, tc.want)
			}
		})
	}
	if err := VerifyImage("/nonexistent/vmlinux", "/nonexistent/initrd"); err == nil || !strings.Contains(err.Error(), "make vmimage") {
		t.Errorf("no manifest: %v", err)
	}
}

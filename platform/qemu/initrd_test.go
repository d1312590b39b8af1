package qemu

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStageAndReleaseInitrd(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "initramfs.cpio")
	if err := os.WriteFile(src, []byte("070701 cpio"), 0o644); err != nil {
		t.Fatal(err)
	}
	machineDir := filepath.Join(dir, "machine")
	if err := os.Mkdir(machineDir, 0o700); err != nil {
		t.Fatal(err)
	}
	staged, err := stageInitrd(src, machineDir)
	if err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(staged); err != nil || string(data) != "070701 cpio" || filepath.Dir(staged) != machineDir {
		t.Fatalf("staged %s = %q, %v", staged, data, err)
	}
	if err := releaseInitrd(staged); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(staged); err != nil || st.Size() != 0 {
		t.Errorf("released copy: %v, %v", st, err)
	}
	if data, _ := os.ReadFile(src); string(data) != "070701 cpio" {
		t.Error("releasing the copy changed the image's initramfs")
	}
	if err := releaseInitrd(filepath.Join(dir, "gone")); err != nil {
		t.Errorf("release of a removed copy: %v", err)
	}
	if _, err := stageInitrd(filepath.Join(dir, "missing"), machineDir); err == nil {
		t.Error("staging a missing initramfs succeeded")
	}
	if ents, _ := os.ReadDir(machineDir); len(ents) != 1 {
		t.Errorf("machine folder holds %v", ents)
	}
}

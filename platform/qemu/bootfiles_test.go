package qemu

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/skiffrun/skiff/platform"
)

func TestStageAndReleaseBootFiles(t *testing.T) {
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			dir := t.TempDir()
			image := map[string]string{"kernel": "ELF kernel", "initramfs.cpio": "070701 cpio"}
			for name, data := range image {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			spec := platform.MachineSpec{Arch: arch, Dir: filepath.Join(dir, "machine"),
				Kernel: filepath.Join(dir, "kernel"), Initrd: filepath.Join(dir, "initramfs.cpio")}
			if err := os.Mkdir(spec.Dir, 0o700); err != nil {
				t.Fatal(err)
			}
			staged, err := stageBootFiles(spec)
			if err != nil {
				t.Fatal(err)
			}
			// QEMU keeps the amd64 kernel (an ELF) mapped; the arm64
			// Image it copies, so that one is booted where it is.
			wantKernel := spec.Kernel
			if arch == "amd64" {
				wantKernel = filepath.Join(spec.Dir, bootKernel)
			}
			if staged.Kernel != wantKernel || staged.Initrd != filepath.Join(spec.Dir, bootInitrd) {
				t.Fatalf("staged kernel %s, initramfs %s", staged.Kernel, staged.Initrd)
			}
			for path, want := range map[string]string{staged.Kernel: "ELF kernel", staged.Initrd: "070701 cpio"} {
				if data, err := os.ReadFile(path); err != nil || string(data) != want {
					t.Fatalf("staged %s = %q, %v", path, data, err)
				}
			}
			if err := releaseBootFiles(staged); err != nil {
				t.Fatal(err)
			}
			ents, _ := os.ReadDir(spec.Dir)
			for _, e := range ents {
				if st, err := os.Stat(filepath.Join(spec.Dir, e.Name())); err != nil || st.Size() != 0 {
					t.Errorf("released copy %s: %v, %v", e.Name(), st, err)
				}
			}
			if want := map[string]int{"amd64": 2, "arm64": 1}[arch]; len(ents) != want {
				t.Errorf("machine folder holds %v, want %d copies", ents, want)
			}
			for name, want := range image {
				if data, _ := os.ReadFile(filepath.Join(dir, name)); string(data) != want {
					t.Errorf("releasing the copies changed the image's %s", name)
				}
			}
			if err := releaseBootFiles(staged); err != nil {
				t.Errorf("second release: %v", err)
			}
		})
	}
	dir := t.TempDir()
	if _, err := stageBootFiles(platform.MachineSpec{Arch: "amd64", Dir: dir, Initrd: filepath.Join(dir, "missing")}); err == nil {
		t.Error("staging a missing initramfs succeeded")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("a failed staging left %v", ents)
	}
}

//go:build linux || darwin

package qemu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffrun/skiff/platform"
)

func TestCheckNamesWhatToDo(t *testing.T) {
	dir := t.TempDir()
	kernel, initrd := filepath.Join(dir, "vmlinux"), filepath.Join(dir, "initramfs.cpio.gz")
	for _, f := range []string{kernel, initrd} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The manifest's digest of the initramfs is not the file's.
	manifest := `{"files":{"vmlinux":{"size":1},"initramfs.cpio.gz":{"size":1,"sha256":"00"}}}`
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := platform.MachineSpec{Arch: "amd64", Kernel: kernel, Initrd: initrd}

	t.Setenv("PATH", t.TempDir())
	err := Driver{}.Check(spec)
	if err == nil || !strings.Contains(err.Error(), "apt-get install qemu-system-x86") {
		t.Errorf("no QEMU: %v", err)
	}
	if err := os.WriteFile(filepath.Join(os.Getenv("PATH"), binary("amd64")), []byte("#!/bin/sh\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	err = Driver{}.Check(spec)
	if err == nil || !strings.Contains(err.Error(), "initramfs.cpio.gz has sha256") || !strings.HasSuffix(err.Error(), "rebuild it with make vmimage") {
		t.Errorf("altered image: %v", err)
	}
}

//go:build linux

package container

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

func TestCheckCommandLooksInMounts(t *testing.T) {
	rootfs, src := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "tool"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "data"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	mounts := []*apiv1.MountPoint{{Source: src, Destination: "/cli"}}
	if err := checkCommand(rootfs, mounts, "/cli/tool", ""); err != nil {
		t.Errorf("a command in a bind mount: %v", err)
	}
	if err := checkCommand(rootfs, mounts, "tool", "/cli"); err != nil {
		t.Errorf("a command found through PATH in a bind mount: %v", err)
	}
	var ec *ExitCodeError
	if err := checkCommand(rootfs, mounts, "/cli/data", ""); !errors.As(err, &ec) || ec.Code != 126 {
		t.Errorf("a file that is not executable: %v, want exit code 126", err)
	}
	if err := checkCommand(rootfs, mounts, "/cli/missing", ""); !errors.As(err, &ec) || ec.Code != 127 {
		t.Errorf("a missing command: %v, want exit code 127", err)
	}
	if err := checkCommand(rootfs, mounts, "/clix/tool", ""); !errors.As(err, &ec) || ec.Code != 127 {
		t.Errorf("a path beside the mount is the rootfs's: %v, want exit code 127", err)
	}
	if err := checkCommand(rootfs, mounts, "/cli/../cli/tool", ""); err != nil {
		t.Errorf("a path that cleans into the mount: %v", err)
	}
}

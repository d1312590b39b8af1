//go:build e2e && darwin && cgo

package vz

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/skiffrun/skiff/platform"
)

// These tests boot the guest image with Virtualization.framework. They
// need a Mac, the guest image for its architecture in $SKIFF_VMIMAGE
// (make vmimage's build/vmimage, or one of its arch folders), and a test
// binary signed for virtualization:
//
//	go test -c -tags e2e -o vz.test ./platform/vz
//	codesign --entitlements platform/vz/skiff.entitlements --force -s - vz.test
//	SKIFF_VMIMAGE=$PWD/build/vmimage ./vz.test -test.v

// e2eSpec is a small machine with a share and a data disk, in a short
// temp directory (unix socket paths are limited to 103 bytes).
func e2eSpec(t *testing.T) platform.MachineSpec {
	t.Helper()
	root := os.Getenv("SKIFF_VMIMAGE")
	if root == "" {
		t.Skip("SKIFF_VMIMAGE is not set: point it at the guest image (make vmimage)")
	}
	dir := root
	if _, err := os.Stat(filepath.Join(root, runtime.GOARCH, "manifest.json")); err == nil {
		dir = filepath.Join(root, runtime.GOARCH)
	}
	var m struct {
		Kernel, Initramfs struct{ File string }
	}
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatalf("guest image: %v", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("guest image manifest: %v", err)
	}
	mdir, err := os.MkdirTemp("/tmp", "skiff-vz-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(mdir) })
	shared := t.TempDir()
	return platform.MachineSpec{
		Name: "vz-e2e", Dir: mdir, Driver: Name, Arch: runtime.GOARCH,
		CPUs: 2, MemoryMiB: 1024,
		AgentSocket: filepath.Join(mdir, "skiff.sock"),
		AgentRoot:   filepath.Join(mdir, "agent"),
		Log:         filepath.Join(mdir, "console.log"),
		PIDFile:     filepath.Join(mdir, "daemon.pid"),
		Kernel:      filepath.Join(dir, m.Kernel.File),
		Initrd:      filepath.Join(dir, m.Initramfs.File),
		Disk:        platform.Disk{Path: filepath.Join(mdir, "data.img"), SizeBytes: 256 << 20},
		Network:     platform.UserNAT(),
		Shares:      []platform.Share{{HostPath: shared, Tag: "share0", GuestPath: platform.GuestPath(shared)}},
	}
}

// checkSigned skips when the test binary lacks the entitlement, which
// Check must recognise and explain.
func checkSigned(t *testing.T, spec platform.MachineSpec) {
	t.Helper()
	err := Driver{}.Check(spec)
	if err != nil && strings.Contains(err.Error(), "make sign-darwin") {
		t.Skipf("the test binary is not signed for virtualization (see this file's comment): %v", err)
	}
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
}

func TestBootReachesAgent(t *testing.T) {
	spec := e2eSpec(t)
	checkSigned(t, spec)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	began := time.Now()
	m, err := Driver{}.Start(ctx, spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer scancel()
		_ = m.Stop(sctx)
	})
	if ri := m.(platform.Described).RunInfo(); ri.Accel != "hvf" || ri.CPUs != 2 || ri.MemoryMiB != 1024 {
		t.Errorf("RunInfo = %+v", ri)
	}
	c, err := m.AgentConn(ctx)
	if err != nil {
		log, _ := os.ReadFile(spec.Log)
		t.Fatalf("AgentConn: %v; console:\n%s", err, log)
	}
	c.Close()
	t.Logf("the agent dialled the host %.2fs after Start", time.Since(began).Seconds())
	if st, err := os.Stat(spec.Disk.Path); err != nil || st.Size() != spec.Disk.SizeBytes {
		t.Errorf("data disk: %v", err)
	}

	sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer scancel()
	if err := m.Stop(sctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), time.Second)
	defer wcancel()
	if err := m.Wait(wctx); err != nil {
		t.Errorf("Wait after Stop = %v, want a clean stop", err)
	}
	// The guest's init writes on the console once virtio_console is in.
	if log, err := os.ReadFile(spec.Log); err != nil || !strings.Contains(string(log), "skiff-init:") {
		t.Errorf("the console log %s has nothing from the guest (%v):\n%s", spec.Log, err, log)
	}
}

func TestCheckRefusesTooManyCPUs(t *testing.T) {
	spec := e2eSpec(t)
	spec.CPUs = platform.MaxCPUs
	err := Driver{}.Check(spec)
	if err == nil || !strings.Contains(err.Error(), "skiff machine set --cpus") {
		t.Errorf("Check of %d CPUs = %v, want the limit and the fix", spec.CPUs, err)
	}
}

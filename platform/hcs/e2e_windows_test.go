//go:build e2e

package hcs

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Microsoft/hcsshim/hcn"

	"github.com/skiffrun/skiff/guest/api/wire"
	"github.com/skiffrun/skiff/platform"
)

// TestBootOnHyperV boots the guest image as a utility VM and checks what
// only real Hyper-V can: the agent dials the host over hvsock and answers
// the handshake, the console reaches the log, a share is added while the
// VM runs, and a stop removes the VM's network endpoint. It needs an
// elevated prompt (or Hyper-V Administrators) and SKIFF_VMIMAGE:
//
//	set SKIFF_VMIMAGE=C:\skiff\bin\vmimage
//	go test -tags e2e -run TestBootOnHyperV -v ./platform/hcs/
func TestBootOnHyperV(t *testing.T) {
	img := os.Getenv("SKIFF_VMIMAGE")
	if img == "" {
		t.Skip("SKIFF_VMIMAGE is not set to the guest image folder")
	}
	if err := loadAPI(); err != nil {
		t.Skipf("no HCS here: %v", err)
	}
	if err := checkRights(); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	shared := t.TempDir()
	spec := platform.MachineSpec{
		Name: "hcs-e2e", Dir: dir, Driver: Name, Arch: "amd64",
		AgentSocket: filepath.Join(dir, "skiff.sock"), AgentRoot: filepath.Join(dir, "agent"),
		Log: filepath.Join(dir, "console.log"), PIDFile: filepath.Join(dir, "daemon.pid"),
		Kernel: filepath.Join(img, "amd64", "vmlinux"), Initrd: filepath.Join(img, "amd64", "initramfs.cpio"),
		Disk:    platform.Disk{Path: filepath.Join(dir, "data.img"), SizeBytes: 256 << 20},
		Network: platform.UserNAT(),
		Shares:  []platform.Share{{HostPath: shared, Tag: "share0", GuestPath: platform.GuestPath(shared)}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	vm, err := Driver{}.Start(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = vm.Stop(sctx)
	})
	conn, err := vm.AgentConn(ctx)
	if err != nil {
		t.Fatalf("agent: %v%s", err, tail(spec.Log))
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(wire.Hello)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	got := make([]byte, len(wire.OK))
	if _, err := io.ReadFull(conn, got); err != nil || string(got) != wire.OK {
		t.Fatalf("handshake: %q, %v%s", got, err, tail(spec.Log))
	}
	t.Logf("agent answered %.2fs after Start", time.Since(start).Seconds())
	if b, _ := os.ReadFile(spec.Log); !strings.Contains(string(b), "Linux version") && !strings.Contains(string(b), "skiff") {
		t.Errorf("console log has no boot output:%s", tail(spec.Log))
	}
	sctx, scancel := context.WithTimeout(ctx, 20*time.Second)
	defer scancel()
	if err := vm.Stop(sctx); err != nil {
		t.Errorf("stop: %v", err)
	}
	if err := vm.Wait(ctx); err != nil {
		t.Errorf("wait after stop: %v", err)
	}
	if _, err := hcn.GetEndpointByName(systemID(Resolve(spec))); !hcn.IsNotFoundError(err) {
		t.Errorf("the VM's network endpoint outlived it: %v", err)
	}
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	s := strings.TrimSpace(string(b))
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return "\nconsole:\n" + s
}

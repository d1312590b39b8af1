//go:build e2e

package hcs

import (
	"context"
	"encoding/binary"
	"io"
	"net"
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
	spec := hyperVSpec(t)
	shared := t.TempDir()
	spec.Shares = []platform.Share{{HostPath: shared, Tag: "share0", GuestPath: platform.GuestPath(shared)}}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	vm := startHyperV(ctx, t, spec)
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

// TestUserNetworkOnHyperV boots the guest image on the user-mode
// network and checks the part only real Hyper-V has: the agent's TAP
// forwarder dials the host's hvsock port 1025, the driver relays the
// link onto the stream socket, and the guest's frames arrive there in
// the stream's framing. (The stack, the relay and the forwarder run
// against each other on Linux in internal/roundtrip.) Needs what
// TestBootOnHyperV needs:
//
//	go test -tags e2e -run TestUserNetworkOnHyperV -v ./platform/hcs/
func TestUserNetworkOnHyperV(t *testing.T) {
	spec := hyperVSpec(t)
	spec.Network = platform.UserNetwork(spec.Dir)
	spec.Network.Link.VsockPort = platform.UserNetVsockPort
	// The test stands where the host daemon's stack listens.
	stack, err := net.Listen("unix", spec.Network.Link.Stream)
	if err != nil {
		t.Fatal(err)
	}
	defer stack.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	startHyperV(ctx, t, spec)
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := stack.Accept(); err == nil {
			accepted <- c
		}
	}()
	var link net.Conn
	select {
	case link = <-accepted:
		defer link.Close()
	case <-time.After(2 * time.Minute):
		t.Fatalf("the guest's network link never reached the stream socket%s", tail(spec.Log))
	}
	// eth0 up sends something (IPv6 router solicitations, ARP when the
	// agent resolves); a frame of any kind shows the framing is right.
	_ = link.SetReadDeadline(time.Now().Add(time.Minute))
	var hdr [4]byte
	if _, err := io.ReadFull(link, hdr[:]); err != nil {
		t.Fatalf("no frame from the guest: %v%s", err, tail(spec.Log))
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n < 14 || n > 65535 {
		t.Fatalf("the guest's first frame has length %d: not the stream's framing", n)
	}
	if _, err := io.ReadFull(link, make([]byte, n)); err != nil {
		t.Fatalf("the guest's first frame of %d bytes: %v", n, err)
	}
}

// hyperVSpec is a machine in a temporary directory on the guest image
// in SKIFF_VMIMAGE, on HNS's NAT; it skips the test where HCS cannot run
// one.
func hyperVSpec(t *testing.T) platform.MachineSpec {
	t.Helper()
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
	return platform.MachineSpec{
		Name: "hcs-e2e", Dir: dir, Driver: Name, Arch: "amd64",
		AgentSocket: filepath.Join(dir, "skiff.sock"), AgentRoot: filepath.Join(dir, "agent"),
		Log: filepath.Join(dir, "console.log"), PIDFile: filepath.Join(dir, "daemon.pid"),
		Kernel: filepath.Join(img, "amd64", "vmlinux"), Initrd: filepath.Join(img, "amd64", "initramfs.cpio"),
		Disk:    platform.Disk{Path: filepath.Join(dir, "data.img"), SizeBytes: 256 << 20},
		Network: platform.UserNAT(),
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

// startHyperV starts a machine of spec, stopped when t ends.
func startHyperV(ctx context.Context, t *testing.T, spec platform.MachineSpec) platform.Machine {
	t.Helper()
	vm, err := Driver{}.Start(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = vm.Stop(sctx)
	})
	return vm
}

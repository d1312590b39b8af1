package hcs

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/skiffrun/skiff/platform"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const goldenDir = `C:\Users\me\AppData\Local\skiff\machines\default`

func goldenSpec() platform.MachineSpec {
	return platform.MachineSpec{
		Name: "default", Dir: goldenDir, Driver: Name, Arch: "amd64",
		AgentSocket: goldenDir + `\skiff.sock`,
		AgentRoot:   goldenDir + `\agent`,
		Log:         goldenDir + `\console.log`,
		PIDFile:     goldenDir + `\daemon.pid`,
		Kernel:      `C:\Program Files\skiff\vmimage\amd64\vmlinux`,
		Initrd:      `C:\Program Files\skiff\vmimage\amd64\initramfs.cpio`,
		Disk:        platform.Disk{Path: goldenDir + `\data.img`, SizeBytes: 64 << 30},
		Network:     platform.Network{Mode: platform.NetworkNAT, Address: "192.168.241.5/24", Gateway: "192.168.241.1", DNS: "192.168.241.1"},
	}
}

func goldenHost() Host {
	return Host{
		Now:         time.Unix(1764115200, 0),
		UserSID:     "S-1-5-21-1004336348-1177238915-682003330-1001",
		ConsolePipe: `\\.\pipe\skiff-default-console`,
		EndpointID:  "4b7d1c3e-2f0a-4b8e-9c6d-5a1e2f3b4c5d",
		MAC:         "00-15-5D-8A-01-02",
	}
}

func TestDocumentGolden(t *testing.T) {
	tests := []struct {
		name   string
		change func(*platform.MachineSpec, *Host)
	}{
		{"amd64-default", func(*platform.MachineSpec, *Host) {}},
		{"amd64-shares", func(s *platform.MachineSpec, _ *Host) {
			s.Shares = []platform.Share{
				{HostPath: `C:\Users\me`, Tag: "share0", GuestPath: platform.GuestPath(`C:\Users\me`)},
				{HostPath: `D:\data sets`, Tag: "share1", GuestPath: platform.GuestPath(`D:\data sets`), ReadOnly: true},
			}
		}},
		{"amd64-sized-debug", func(s *platform.MachineSpec, _ *Host) {
			s.CPUs, s.MemoryMiB, s.Debug = 6, 4095, true
			s.KernelArgs = []string{"loglevel=7"}
		}},
		{"amd64-user-network", func(s *platform.MachineSpec, h *Host) {
			// As host/machine gives it on Windows; Resolve adds the port.
			s.Network = platform.UserNetwork(goldenDir)
			s.Network.Link.Stream = goldenDir + `\net.sock`
			h.EndpointID, h.MAC = "", ""
		}},
		{"amd64-no-network-no-disk", func(s *platform.MachineSpec, h *Host) {
			s.Network, s.Disk = platform.Network{}, platform.Disk{}
			h.EndpointID, h.MAC, h.UserSID = "", "", ""
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec, h := goldenSpec(), goldenHost()
			tc.change(&spec, &h)
			doc, err := Document(Resolve(spec), h)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(doc, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", tc.name+".json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("document differs from %s (go test -update rewrites it):\n%s", golden, got)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	s := Resolve(goldenSpec())
	if s.Disk.Path != goldenDir+`\data.vhdx` || s.Disk.Device != "sda" {
		t.Errorf("disk = %+v, want data.vhdx on sda", s.Disk)
	}
	if s.CPUs != DefaultCPUs || s.MemoryMiB != DefaultMemoryMiB || s.Agent.VsockPort != AgentVsockPort {
		t.Errorf("defaults: cpus %d memory %d agent %+v", s.CPUs, s.MemoryMiB, s.Agent)
	}
	sp := goldenSpec()
	sp.MemoryMiB = 1025
	sp.Shares = []platform.Share{{HostPath: `C:\x`, Tag: "x", GuestPath: "/mnt/c/x"}}
	s = Resolve(sp)
	if s.MemoryMiB != 1026 {
		t.Errorf("memory %d MiB not rounded up to 2 MiB pages", s.MemoryMiB)
	}
	if s.Shares[0].Type != platform.Share9PVsock {
		t.Errorf("share type %q, want 9p-vsock", s.Shares[0].Type)
	}
	if sp.Shares[0].Type != "" {
		t.Error("Resolve changed the caller's shares")
	}
}

func TestVHDXPath(t *testing.T) {
	for in, want := range map[string]string{
		`C:\m\data.img`:     `C:\m\data.vhdx`,
		`C:\m\data.vhdx`:    `C:\m\data.vhdx`,
		`C:\m.d\data`:       `C:\m.d\data.vhdx`,
		`/home/m/data.img`:  `/home/m/data.vhdx`,
		`C:\m\.hidden`:      `C:\m\.hidden.vhdx`,
		`C:\m\data.raw.img`: `C:\m\data.raw.vhdx`,
	} {
		if got := vhdxPath(in); got != want {
			t.Errorf("vhdxPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDocumentRefuses(t *testing.T) {
	arm := goldenSpec()
	arm.Arch = "arm64"
	_, err := Document(Resolve(arm), goldenHost())
	if !errors.Is(err, ErrArchNotSupported) || !errdefs.IsNotImplemented(err) || !strings.Contains(err.Error(), "arm64") {
		t.Errorf("arm64: %v, want a not-supported-yet error naming arm64", err)
	}
	virtiofs := goldenSpec()
	virtiofs.Shares = []platform.Share{{HostPath: `C:\x`, Tag: "x", GuestPath: "/mnt/c/x", Type: platform.ShareVirtiofs}}
	if _, err := Document(Resolve(virtiofs), goldenHost()); !errdefs.IsInvalidArgument(err) {
		t.Errorf("virtiofs share: %v, want invalid argument", err)
	}
	user := goldenSpec()
	user.Network = platform.UserNetwork(goldenDir)
	if _, err := Document(user, goldenHost()); !errdefs.IsInvalidArgument(err) {
		t.Errorf("user network without a vsock port: %v, want invalid argument", err)
	}
	noEndpoint := goldenHost()
	noEndpoint.EndpointID = ""
	if _, err := Document(Resolve(goldenSpec()), noEndpoint); !errdefs.IsInvalidArgument(err) {
		t.Errorf("NAT without an endpoint: %v, want invalid argument", err)
	}
}

func TestKernelArgs(t *testing.T) {
	spec := Resolve(goldenSpec())
	spec.Shares = []platform.Share{{HostPath: `C:\src`, Tag: "share0", GuestPath: "/mnt/c/src", Type: platform.Share9PVsock}}
	kargs, err := KernelArgs(spec, goldenHost())
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(kargs, " ")
	for _, w := range []string{
		"console=ttyS0,115200", "initcall_blacklist=virtio_vsock_init", "nr_cpus=2", "panic=-1", "quiet",
		"skiff.agent=vsock:10000", "skiff.disk=sda", "skiff.share=share0,9p-vsock,rw,%2Fmnt%2Fc%2Fsrc",
		"skiff.net=static,192.168.241.5/24,192.168.241.1,192.168.241.1",
	} {
		if !strings.Contains(" "+args+" ", " "+w+" ") {
			t.Errorf("kernel command line lacks %q:\n%s", w, args)
		}
	}
}

func TestVsockServiceID(t *testing.T) {
	if got := VsockServiceID(10000); got != "00002710-facb-11e6-bd58-64006a7986d3" {
		t.Errorf("VsockServiceID(10000) = %s", got)
	}
}

package qemu

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiffrun/skiff/platform"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func goldenSpec(arch string) platform.MachineSpec {
	dir := "/home/me/.skiff/machines/default"
	return platform.MachineSpec{
		Name: "default", Dir: dir, Driver: Name, Arch: arch,
		AgentSocket: dir + "/skiff.sock",
		AgentRoot:   dir + "/agent",
		Log:         dir + "/console.log",
		PIDFile:     dir + "/daemon.pid",
		Kernel:      "/opt/skiff/vmimage/" + arch + "/kernel",
		Initrd:      "/opt/skiff/vmimage/" + arch + "/initramfs.cpio.gz",
		Disk:        platform.Disk{Path: dir + "/data.img", SizeBytes: 64 << 30},
		Network:     platform.UserNAT(),
	}
}

func goldenHost(arch string) Host {
	h := Host{Now: time.Unix(1764115200, 0), Accel: "tcg", QEMU: "qemu-system-x86_64", Virtiofsd: "/usr/lib/qemu/virtiofsd"}
	if arch == "amd64" {
		h.TSCkHz = 2445426
	} else {
		h.QEMU = "qemu-system-aarch64"
	}
	return h
}

func withShares(s *platform.MachineSpec) {
	s.Shares = []platform.Share{
		{HostPath: "/home/me", Tag: "share0", GuestPath: "/home/me"},
		{HostPath: "/tmp/a,b", Tag: "share1", GuestPath: "/tmp/a,b", ReadOnly: true},
	}
}

func TestBuildGolden(t *testing.T) {
	tests := []struct {
		name   string
		arch   string
		change func(*platform.MachineSpec, *Host)
	}{
		{"amd64-serial", "amd64", func(*platform.MachineSpec, *Host) {}},
		{"amd64-shares-virtiofs", "amd64", func(s *platform.MachineSpec, _ *Host) { withShares(s) }},
		{"amd64-shares-9p", "amd64", func(s *platform.MachineSpec, h *Host) { withShares(s); h.Virtiofsd = "" }},
		// An ordinary user's QEMU serves the shares itself, even where a
		// virtiofsd is installed.
		{"amd64-shares-unprivileged", "amd64", func(s *platform.MachineSpec, h *Host) { withShares(s); h.Unprivileged = true }},
		{"amd64-vsock-kvm", "amd64", func(s *platform.MachineSpec, h *Host) {
			h.VhostVsock, h.Accel = true, "kvm"
			s.CPUs, s.MemoryMiB, s.Debug = 4, 4096, true
		}},
		{"amd64-no-network-no-disk", "amd64", func(s *platform.MachineSpec, _ *Host) {
			s.Network, s.Disk = platform.Network{}, platform.Disk{}
			s.KernelArgs = []string{"loglevel=7"}
		}},
		{"amd64-user-network", "amd64", func(s *platform.MachineSpec, _ *Host) {
			s.Network = platform.UserNetwork(s.Dir)
		}},
		{"arm64-serial", "arm64", func(*platform.MachineSpec, *Host) {}},
		{"arm64-user-network", "arm64", func(s *platform.MachineSpec, _ *Host) {
			s.Network = platform.UserNetwork(s.Dir)
		}},
		{"arm64-shares-vsock", "arm64", func(s *platform.MachineSpec, h *Host) { withShares(s); h.VhostVsock = true }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec, h := goldenSpec(tc.arch), goldenHost(tc.arch)
			tc.change(&spec, &h)
			spec = Resolve(spec, h)
			if err := spec.ValidateVM(); err != nil {
				t.Fatal(err)
			}
			cmd, err := Build(spec, h)
			if err != nil {
				t.Fatal(err)
			}
			got := render(cmd)
			golden := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("command line differs from %s (run go test -update and review the diff):\n%s", golden, got)
			}
		})
	}
}

// render writes one argument per line, options under their flag, so a
// golden file's diff reads as what changed.
func render(c Command) string {
	var b strings.Builder
	line := func(args []string) {
		for i, a := range args {
			switch {
			case i == 0:
				b.WriteString(a)
			case strings.HasPrefix(a, "-"):
				b.WriteString(" \\\n  " + a)
			default:
				b.WriteString(" " + a)
			}
		}
		b.WriteString("\n")
	}
	line(c.QEMU)
	for _, v := range c.Virtiofsd {
		b.WriteString("\n")
		line(v)
	}
	return b.String()
}

func TestBuildRejectsUnknownArch(t *testing.T) {
	s := goldenSpec("riscv64")
	if _, err := Build(Resolve(s, goldenHost("amd64")), goldenHost("amd64")); err == nil {
		t.Error("Build accepted riscv64")
	}
}

func TestResolveKeepsChoices(t *testing.T) {
	s := goldenSpec("amd64")
	s.CPUs, s.MemoryMiB = 1, 512
	s.Agent = platform.AgentTransport{VsockPort: 4000}
	s.Shares = []platform.Share{{HostPath: "/x", Tag: "x", GuestPath: "/x", Type: platform.Share9P}}
	r := Resolve(s, goldenHost("amd64"))
	if r.CPUs != 1 || r.MemoryMiB != 512 || r.Agent.VsockPort != 4000 || r.Shares[0].Type != platform.Share9P || r.Disk.Device != "vda" {
		t.Errorf("Resolve = %+v", r)
	}
	if s.Shares[0].Type != platform.Share9P || &s.Shares[0] == &r.Shares[0] {
		t.Error("Resolve changed the caller's shares")
	}
}

package vz

import (
	"encoding/json"
	"flag"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/skiffrun/skiff/platform"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const machineDir = "/Users/me/.skiff/machines/default"

// Kernel headers of each format, as the first bytes of the real files.
func arm64Image() []byte {
	b := make([]byte, kernelHeaderSize)
	copy(b, "MZ")
	copy(b[56:], "ARM\x64")
	return b
}

func bzImage() []byte {
	b := make([]byte, kernelHeaderSize)
	copy(b, "MZ")
	copy(b[0x202:], "HdrS")
	return b
}

func goldenSpec(arch string) platform.MachineSpec {
	kernel := "Image"
	if arch == "amd64" {
		kernel = "vmlinuz"
	}
	return platform.MachineSpec{
		Name: "default", Dir: machineDir, Driver: Name, Arch: arch,
		AgentSocket: machineDir + "/skiff.sock",
		AgentRoot:   machineDir + "/agent",
		Log:         machineDir + "/console.log",
		PIDFile:     machineDir + "/daemon.pid",
		Kernel:      "/opt/skiff/vmimage/" + arch + "/" + kernel,
		Initrd:      "/opt/skiff/vmimage/" + arch + "/initramfs.cpio",
		Disk:        platform.Disk{Path: machineDir + "/data.img", SizeBytes: 64 << 30},
		Network:     platform.UserNAT(),
		Shares: []platform.Share{
			{HostPath: "/Users/me", Tag: "share0", GuestPath: "/Users/me"},
			{HostPath: "/private/tmp/a,b", Tag: "share1", GuestPath: "/private/tmp/a,b", ReadOnly: true},
		},
	}
}

// hostFS is a Mac's file system for Stat: the guest images and the
// shared folders of goldenSpec.
var hostFS = fstest.MapFS{
	"opt/skiff/vmimage/arm64/Image":          {Data: arm64Image()},
	"opt/skiff/vmimage/arm64/initramfs.cpio": {Data: []byte("070701")},
	"opt/skiff/vmimage/amd64/vmlinuz":        {Data: bzImage()},
	"opt/skiff/vmimage/amd64/vmlinux":        {Data: []byte("\x7fELF")},
	"opt/skiff/vmimage/amd64/initramfs.cpio": {Data: []byte("070701")},
	"opt/kernels/vmlinux-6.1":                {Data: []byte("\x7fELF")},
	"Users/me/.profile":                      {Data: []byte("")},
	"private/tmp/a,b/x":                      {Data: []byte("")},
	"Users/me/notes.txt":                     {Data: []byte("")},
}

func statHostFS(path string) (fs.FileInfo, error) {
	return fs.Stat(hostFS, strings.TrimPrefix(path, "/"))
}

func goldenHost(arch string) Host {
	h := Host{
		Now:    time.Unix(1764115200, 0),
		Arch:   arch,
		OS:     OSVersion{Major: 15, Minor: 1},
		Limits: Limits{MinCPUs: 1, MaxCPUs: 10, MinMemory: 128 * MiB, MaxMemory: 24 << 30},
		Stat:   statHostFS,
	}
	if arch == "arm64" {
		h.Rosetta = RosettaInstalled
		h.KernelHeader = arm64Image()
	} else {
		h.KernelHeader = bzImage()
	}
	return h
}

func TestDescribeGolden(t *testing.T) {
	tests := []struct {
		name   string
		arch   string
		change func(*platform.MachineSpec, *Host)
	}{
		{"arm64", "arm64", func(*platform.MachineSpec, *Host) {}},
		{"arm64-macos12-no-rosetta", "arm64", func(_ *platform.MachineSpec, h *Host) {
			h.OS = OSVersion{Major: 12, Minor: 7, Patch: 6}
		}},
		{"arm64-rosetta-not-installed-debug", "arm64", func(s *platform.MachineSpec, h *Host) {
			h.Rosetta = RosettaNotInstalled
			s.Debug, s.CPUs, s.MemoryMiB = true, 4, 8192
		}},
		{"arm64-user-network", "arm64", func(s *platform.MachineSpec, _ *Host) {
			s.Network = platform.UserNetwork(s.Dir)
			s.Network.Link.Datagram = platform.UserDatagram(s.Dir)
		}},
		{"amd64", "amd64", func(*platform.MachineSpec, *Host) {}},
		{"amd64-elf-kernel", "amd64", func(s *platform.MachineSpec, h *Host) {
			s.Kernel = "/opt/kernels/vmlinux-6.1"
			h.KernelHeader = []byte("\x7fELF\x02\x01\x01")
		}},
		{"amd64-macos11-bare", "amd64", func(s *platform.MachineSpec, h *Host) {
			h.OS = OSVersion{Major: 11, Minor: 7}
			s.Shares, s.Network, s.Disk = nil, platform.Network{}, platform.Disk{}
			s.KernelArgs = []string{"loglevel=7"}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec, h := goldenSpec(tc.arch), goldenHost(tc.arch)
			tc.change(&spec, &h)
			spec = Resolve(spec)
			if err := spec.ValidateVM(); err != nil {
				t.Fatal(err)
			}
			d, err := Describe(spec, h)
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.MarshalIndent(d, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got := string(b) + "\n"
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
				t.Errorf("description differs from %s (run go test -update and review the diff):\n%s", golden, got)
			}
		})
	}
}

// TestDescribeRefuses checks that what a user must fix fails before a VM
// is created, and that the message names the fix.
func TestDescribeRefuses(t *testing.T) {
	tests := []struct {
		name   string
		arch   string
		change func(*platform.MachineSpec, *Host)
		want   []string
	}{
		{"macOS 10.15", "amd64", func(_ *platform.MachineSpec, h *Host) { h.OS = OSVersion{Major: 10, Minor: 15, Patch: 7} },
			[]string{"needs macOS 11 or later", "10.15.7", "--driver qemu"}},
		{"shares on macOS 11", "arm64", func(_ *platform.MachineSpec, h *Host) { h.OS = OSVersion{Major: 11, Minor: 6} },
			[]string{"virtiofs, which needs macOS 12 or later", "11.6"}},
		{"more CPUs than the Mac allows", "arm64", func(s *platform.MachineSpec, _ *Host) { s.CPUs = 12 },
			[]string{"machine CPUs 12: this Mac allows 1 to 10", "skiff machine set --cpus"}},
		{"more memory than the Mac allows", "arm64", func(s *platform.MachineSpec, _ *Host) { s.MemoryMiB = 32 << 10 },
			[]string{"machine memory 32768 MiB: this Mac allows 128 to 24576 MiB", "skiff machine set --memory"}},
		{"less memory than the framework allows", "arm64", func(s *platform.MachineSpec, h *Host) {
			s.MemoryMiB, h.Limits.MinMemory = 256, 512*MiB
		}, []string{"machine memory 256 MiB: this Mac allows 512 to"}},
		{"missing shared folder", "arm64", func(s *platform.MachineSpec, _ *Host) { s.Shares[1].HostPath = "/Volumes/gone" },
			[]string{"shared folder /Volumes/gone does not exist", "skiff machine set --unshare /Volumes/gone"}},
		{"shared file", "arm64", func(s *platform.MachineSpec, _ *Host) { s.Shares[0].HostPath = "/Users/me/notes.txt" },
			[]string{"/Users/me/notes.txt is not a folder"}},
		{"9p share", "arm64", func(s *platform.MachineSpec, _ *Host) { s.Shares[0].Type = platform.Share9P },
			[]string{"share /Users/me: type 9p", "virtiofs only"}},
		{"share tagged rosetta", "arm64", func(s *platform.MachineSpec, _ *Host) { s.Shares[0].Tag = RosettaTag },
			[]string{`tag "rosetta" is the Rosetta share's`}},
		{"guest of the other architecture", "arm64", func(_ *platform.MachineSpec, h *Host) { h.Arch = "amd64"; h.KernelHeader = bzImage() },
			[]string{"machine architecture arm64", "only amd64 guests"}},
		{"amd64 skiff under Rosetta", "amd64", func(_ *platform.MachineSpec, h *Host) { h.Translated = true },
			[]string{"running under Rosetta", "install the arm64 build"}},
		{"serial agent transport", "arm64", func(s *platform.MachineSpec, _ *Host) {
			s.Agent = platform.AgentTransport{SerialPort: "skiff.agent", SerialSocket: machineDir + "/agent.sock"}
		}, []string{"over vsock only"}},
		{"user network without a datagram socket", "arm64", func(s *platform.MachineSpec, _ *Host) { s.Network = platform.UserNetwork(s.Dir) },
			[]string{"no datagram socket"}},
		{"compressed arm64 kernel", "arm64", func(_ *platform.MachineSpec, h *Host) { h.KernelHeader = []byte{0x1f, 0x8b, 8, 0} },
			[]string{"guest kernel format: compressed kernel", "uncompressed arm64 Image", "make vmimage"}},
		{"unknown amd64 kernel", "amd64", func(_ *platform.MachineSpec, h *Host) { h.KernelHeader = []byte("#!/bin/sh") },
			[]string{"guest kernel format: unknown", "bzImage"}},
		{"missing guest image", "arm64", func(s *platform.MachineSpec, _ *Host) {
			s.Kernel, s.Initrd = "/nowhere/Image", "/nowhere/initramfs.cpio"
		}, []string{"guest kernel /nowhere/Image does not exist", "guest initramfs /nowhere/initramfs.cpio does not exist", "make vmimage"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec, h := goldenSpec(tc.arch), goldenHost(tc.arch)
			tc.change(&spec, &h)
			_, err := Describe(Resolve(spec), h)
			if err == nil {
				t.Fatal("Describe accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestDescribeReportsEveryProblem(t *testing.T) {
	spec, h := goldenSpec("arm64"), goldenHost("arm64")
	spec.CPUs, spec.Shares[0].HostPath = 64, "/gone"
	_, err := Describe(Resolve(spec), h)
	if err == nil || !strings.Contains(err.Error(), "CPUs 64") || !strings.Contains(err.Error(), "/gone does not exist") {
		t.Errorf("err = %v, want both the CPUs and the share", err)
	}
}

func TestResolveKeepsChoices(t *testing.T) {
	s := goldenSpec("arm64")
	s.CPUs, s.MemoryMiB = 1, 512
	s.Agent = platform.AgentTransport{VsockPort: 4000}
	s.Network = platform.Network{Mode: platform.NetworkNAT, Address: "192.168.105.20/24", Gateway: "192.168.105.1", DNS: "1.1.1.1"}
	r := Resolve(s)
	if r.CPUs != 1 || r.MemoryMiB != 512 || r.Agent.VsockPort != 4000 || r.Network != s.Network || r.Disk.Device != "vda" {
		t.Errorf("Resolve = %+v", r)
	}
	if r.Shares[0].Type != platform.ShareVirtiofs || s.Shares[0].Type != "" {
		t.Error("Resolve did not set virtiofs on a copy of the shares")
	}
}

// TestResolveKernel checks that an Intel Mac boots the guest image's
// bzImage, not its vmlinux, and that other kernels stay as given.
func TestResolveKernel(t *testing.T) {
	for _, tc := range []struct{ arch, kernel, want string }{
		{"amd64", "/img/amd64/vmlinux", "/img/amd64/vmlinuz"},
		{"amd64", "/opt/kernels/vmlinux-6.1", "/opt/kernels/vmlinux-6.1"},
		{"arm64", "/img/arm64/Image", "/img/arm64/Image"},
	} {
		s := goldenSpec(tc.arch)
		s.Kernel = tc.kernel
		if got := Resolve(s).Kernel; got != tc.want {
			t.Errorf("%s %s: kernel %s, want %s", tc.arch, tc.kernel, got, tc.want)
		}
	}
}

// TestResolveNetwork checks that the generic user-mode NAT becomes vmnet's
// NAT with the address from its DHCP server.
func TestResolveNetwork(t *testing.T) {
	r := Resolve(goldenSpec("arm64"))
	if r.Network != (platform.Network{Mode: platform.NetworkDHCP}) {
		t.Errorf("network %+v, want DHCP", r.Network)
	}
	if err := r.ValidateVM(); err != nil {
		t.Error(err)
	}
	d, err := Describe(r, goldenHost("arm64"))
	if err != nil || d.Network == nil || d.Network.MAC != MACAddress(r.Name).String() {
		t.Errorf("Describe network = %+v, %v", d.Network, err)
	}
}

func TestMACAddress(t *testing.T) {
	a, b := MACAddress("default"), MACAddress("dev")
	if a.String() != MACAddress("default").String() {
		t.Error("the MAC address changes between calls")
	}
	if a.String() == b.String() {
		t.Error("two machines share a MAC address")
	}
	for _, m := range []net.HardwareAddr{a, b} {
		if len(m) != 6 || m[0]&0x02 == 0 || m[0]&0x01 != 0 {
			t.Errorf("%s is not a locally administered unicast address", m)
		}
	}
}

func TestParseOSVersion(t *testing.T) {
	tests := []struct {
		in   string
		want OSVersion
		ok   bool
	}{
		{"14.6.1", OSVersion{14, 6, 1}, true},
		{"26.0", OSVersion{26, 0, 0}, true},
		{"11.0.1\n", OSVersion{11, 0, 1}, true},
		{"15", OSVersion{}, false},
		{"15.a", OSVersion{}, false},
		{"15.1.2.3", OSVersion{}, false},
		{"15.-1", OSVersion{}, false},
		{"15.01", OSVersion{}, false},
		{"", OSVersion{}, false},
	}
	for _, tc := range tests {
		got, err := ParseOSVersion(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseOSVersion(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	v := OSVersion{12, 3, 0}
	for _, c := range []struct {
		major, minor int
		want         bool
	}{{11, 0, true}, {12, 3, true}, {12, 4, false}, {13, 0, false}} {
		if got := v.AtLeast(c.major, c.minor); got != c.want {
			t.Errorf("%v.AtLeast(%d, %d) = %v", v, c.major, c.minor, got)
		}
	}
}

func FuzzParseOSVersion(f *testing.F) {
	for _, s := range []string{"14.6.1", "26.0", "10.15.7", "1.2.3.4", "", "x.y", "99999.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseOSVersion(s)
		if err != nil {
			return
		}
		again, err := ParseOSVersion(v.String())
		if err != nil || again != v {
			t.Errorf("%q parsed to %v, which reads back as %v, %v", s, v, again, err)
		}
	})
}

func TestKernelFormat(t *testing.T) {
	tests := []struct {
		name string
		head []byte
		want KernelFormat
	}{
		{"arm64 Image", arm64Image(), KernelARM64Image},
		{"bzImage", bzImage(), KernelBzImage},
		{"ELF", []byte("\x7fELF\x02\x01\x01\x00"), KernelELF},
		{"gzip", []byte{0x1f, 0x8b, 0x08, 0x00}, KernelCompressed},
		{"EFI zboot", []byte("MZ\x00\x00zimg"), KernelCompressed},
		{"empty", nil, KernelUnknown},
		{"short", []byte("MZ"), KernelUnknown},
	}
	for _, tc := range tests {
		if got := kernelFormat(tc.head); got != tc.want {
			t.Errorf("%s: kernelFormat = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func FuzzKernelFormat(f *testing.F) {
	f.Add(arm64Image())
	f.Add(bzImage())
	f.Add([]byte("\x7fELF"))
	f.Add([]byte("MZ\x00\x00zimg"))
	f.Fuzz(func(t *testing.T, b []byte) {
		switch kernelFormat(b) {
		case KernelUnknown, KernelELF, KernelARM64Image, KernelBzImage, KernelCompressed:
		default:
			t.Errorf("kernelFormat(%q) is no format", b)
		}
	})
}

func TestEntitlement(t *testing.T) {
	// The error Virtualization.framework gives an unsigned binary.
	desc := `Invalid virtual machine configuration. The process doesn’t have the “com.apple.security.virtualization” entitlement.`
	if !isEntitlementError("VZErrorDomain", 2, desc) {
		t.Error("the missing entitlement was not recognised")
	}
	for _, c := range []struct {
		domain string
		code   int
		text   string
	}{
		{"VZErrorDomain", 2, "Invalid virtual machine configuration. The storage device attachment is invalid."},
		{"VZErrorDomain", 1, desc},
		{"NSPOSIXErrorDomain", 2, desc},
	} {
		if isEntitlementError(c.domain, c.code, c.text) {
			t.Errorf("%s %d %q taken for the missing entitlement", c.domain, c.code, c.text)
		}
	}
	msg := entitlementError("/usr/local/bin/skiff").Error()
	for _, w := range []string{"make sign-darwin", "codesign --entitlements platform/vz/skiff.entitlements --force -s - /usr/local/bin/skiff", Entitlement} {
		if !strings.Contains(msg, w) {
			t.Errorf("%q does not say %q", msg, w)
		}
	}
}

func TestEntitlementsFile(t *testing.T) {
	b, err := os.ReadFile("skiff.entitlements")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "<key>"+Entitlement+"</key>\n\t<true/>") {
		t.Errorf("skiff.entitlements does not grant %s:\n%s", Entitlement, b)
	}
}

package platform

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

func validSpec() MachineSpec {
	return MachineSpec{
		Name:        "default",
		Dir:         "/home/u/.skiff/machines/default",
		Driver:      "native",
		AgentSocket: "/home/u/.skiff/machines/default/skiff.sock",
		AgentRoot:   "/home/u/.skiff/machines/default/agent",
		Log:         "/home/u/.skiff/machines/default/agent.log",
		PIDFile:     "/home/u/.skiff/machines/default/agent.pid",
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*MachineSpec)
		want   string
	}{
		{"valid", func(*MachineSpec) {}, ""},
		{"name with slash", func(s *MachineSpec) { s.Name = "a/b" }, "machine name"},
		{"empty name", func(s *MachineSpec) { s.Name = "" }, "machine name"},
		{"no driver", func(s *MachineSpec) { s.Driver = "" }, "driver"},
		{"relative dir", func(s *MachineSpec) { s.Dir = "machines/default" }, "not an absolute path"},
		{"long socket", func(s *MachineSpec) { s.AgentSocket = "/" + strings.Repeat("x", 110) }, "set SKIFF_HOME"},
		{"negative cpus", func(s *MachineSpec) { s.CPUs = -1 }, "CPUs"},
		{"too many cpus", func(s *MachineSpec) { s.CPUs = 1000 }, "CPUs"},
		{"negative memory", func(s *MachineSpec) { s.MemoryMiB = -1 }, "memory"},
		{"too little memory", func(s *MachineSpec) { s.MemoryMiB = 64 }, "at least 128 MiB"},
		{"unknown arch", func(s *MachineSpec) { s.Arch = "riscv64" }, "amd64 or arm64"},
		{"vm spec is valid", func(s *MachineSpec) { *s = validVM() }, ""},
		{"kernel arg with space", func(s *MachineSpec) { s.KernelArgs = []string{"a b"} }, "kernel argument"},
		{"relative disk", func(s *MachineSpec) { s.Disk = Disk{Path: "data.img", SizeBytes: 1 << 30} }, "data disk \"data.img\""},
		{"small disk", func(s *MachineSpec) { s.Disk = Disk{Path: "/d.img", SizeBytes: 1 << 20} }, "at least 64 MiB"},
		{"odd disk size", func(s *MachineSpec) { s.Disk = Disk{Path: "/d.img", SizeBytes: 1<<30 + 1} }, "whole number of MiB"},
		{"bad disk device", func(s *MachineSpec) { s.Disk = Disk{Path: "/d.img", SizeBytes: 1 << 30, Device: "/dev/vda"} }, "kernel device name"},
		{"relative share", func(s *MachineSpec) { s.Shares = []Share{{HostPath: "src", Tag: "s", GuestPath: "/src"}} }, "share \"src\""},
		{"bad tag", func(s *MachineSpec) { s.Shares = []Share{{HostPath: "/src", Tag: "a,b", GuestPath: "/src"}} }, "share tag"},
		{"long tag", func(s *MachineSpec) {
			s.Shares = []Share{{HostPath: "/src", Tag: strings.Repeat("t", 37), GuestPath: "/src"}}
		}, "share tag"},
		{"duplicate tag", func(s *MachineSpec) {
			s.Shares = []Share{{HostPath: "/a", Tag: "t", GuestPath: "/a"}, {HostPath: "/b", Tag: "t", GuestPath: "/b"}}
		}, "used twice"},
		{"duplicate guest path", func(s *MachineSpec) {
			s.Shares = []Share{{HostPath: "/a", Tag: "a", GuestPath: "/a"}, {HostPath: "/b", Tag: "b", GuestPath: "/a"}}
		}, "guest path \"/a\" is used twice"},
		{"guest root", func(s *MachineSpec) { s.Shares = []Share{{HostPath: "/", Tag: "r", GuestPath: "/"}} }, "other than /"},
		{"unclean guest path", func(s *MachineSpec) { s.Shares = []Share{{HostPath: "/a", Tag: "a", GuestPath: "/a/../b"}} }, "clean absolute"},
		{"unknown share type", func(s *MachineSpec) { s.Shares = []Share{{HostPath: "/a", Tag: "a", GuestPath: "/a", Type: "nfs"}} }, "virtiofs, 9p or 9p-vsock"},
		{"unknown network", func(s *MachineSpec) { s.Network.Mode = "bridge" }, "user, nat, dhcp or none"},
		{"user network without sockets", func(s *MachineSpec) { s.Network = UserNetwork("/m"); s.Network.Link = UserLink{} }, "stream socket"},
		{"user network with a relative socket", func(s *MachineSpec) { s.Network = UserNetwork("m") }, "not an absolute path"},
		{"nat with a user link", func(s *MachineSpec) { s.Network = UserNAT(); s.Network.Link = UserNetwork("/m").Link }, "no user-mode link"},
		{"user network on VMADDR_PORT_ANY", func(s *MachineSpec) { s.Network = UserNetwork("/m"); s.Network.Link.VsockPort = 0xFFFFFFFF }, "VMADDR_PORT_ANY"},
		{"user network on the agent's vsock port", func(s *MachineSpec) {
			s.Network = UserNetwork("/m")
			s.Network.Link.VsockPort = 1025
			s.Agent = AgentTransport{VsockPort: 1025}
		}, "agent's port too"},
		{"ipv6 host loopback", func(s *MachineSpec) { s.Network = UserNAT(); s.Network.HostLoopback = "::1" }, "host loopback"},
		{"dhcp with address", func(s *MachineSpec) { s.Network = Network{Mode: NetworkDHCP, Address: "10.0.0.2/24"} }, "takes no address"},
		{"nat without address", func(s *MachineSpec) { s.Network = Network{Mode: NetworkNAT, Gateway: "10.0.2.2", DNS: "10.0.2.3"} }, "prefix length"},
		{"gateway outside", func(s *MachineSpec) { s.Network = UserNAT(); s.Network.Gateway = "192.168.1.1" }, "outside 10.0.2.15/24"},
		{"ipv6 dns", func(s *MachineSpec) { s.Network = UserNAT(); s.Network.DNS = "::1" }, "DNS server"},
		{"none with address", func(s *MachineSpec) { s.Network = Network{Mode: NetworkNone, Address: "10.0.0.2/24"} }, "takes no address"},
		{"vsock and serial", func(s *MachineSpec) {
			s.Agent = AgentTransport{VsockPort: 1024, SerialPort: "a", SerialSocket: "/a.sock"}
		}, "not both"},
		{"serial without socket", func(s *MachineSpec) { s.Agent = AgentTransport{SerialPort: "skiff.agent"} }, "serial socket"},
		{"long serial socket", func(s *MachineSpec) {
			s.Agent = AgentTransport{SerialPort: "skiff.agent", SerialSocket: "/" + strings.Repeat("x", 110)}
		}, "shorter directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := validSpec()
			tc.change(&s)
			err := s.Validate()
			if tc.want == "" {
				if err != nil {
					t.Errorf("Validate = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errdefs.IsInvalidArgument(err) {
				t.Errorf("Validate = %v, want an invalid argument about %q", err, tc.want)
			}
		})
	}
}

func validVM() MachineSpec {
	s := validSpec()
	s.Driver = "qemu"
	s.Arch = "amd64"
	s.CPUs = 2
	s.MemoryMiB = 2048
	s.Kernel = "/opt/skiff/vmimage/amd64/vmlinux"
	s.Initrd = "/opt/skiff/vmimage/amd64/initramfs.cpio.gz"
	s.Disk = Disk{Path: s.Dir + "/data.img", SizeBytes: 64 << 30, Device: "vda"}
	s.Shares = []Share{
		{HostPath: "/home/u", Tag: "share0", GuestPath: "/home/u", Type: ShareVirtiofs},
		{HostPath: "/tmp", Tag: "share1", GuestPath: "/tmp", ReadOnly: true, Type: ShareVirtiofs},
	}
	s.Network = UserNAT()
	s.Agent = AgentTransport{SerialPort: "skiff.agent", SerialSocket: s.Dir + "/agent.serial.sock"}
	return s
}

func TestValidateVM(t *testing.T) {
	tests := []struct {
		name   string
		change func(*MachineSpec)
		want   string
	}{
		{"valid", func(*MachineSpec) {}, ""},
		{"no arch", func(s *MachineSpec) { s.Arch = "" }, "architecture is not set"},
		{"no kernel", func(s *MachineSpec) { s.Kernel = "" }, "kernel"},
		{"relative initrd", func(s *MachineSpec) { s.Initrd = "initramfs.cpio.gz" }, "initramfs"},
		{"no transport", func(s *MachineSpec) { s.Agent = AgentTransport{} }, "transport is not set"},
		{"vsock", func(s *MachineSpec) { s.Agent = AgentTransport{VsockPort: 1024} }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := validVM()
			tc.change(&s)
			err := s.ValidateVM()
			if tc.want == "" {
				if err != nil {
					t.Errorf("ValidateVM = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errdefs.IsInvalidArgument(err) {
				t.Errorf("ValidateVM = %v, want an invalid argument about %q", err, tc.want)
			}
		})
	}
	if err := validSpec().ValidateVM(); err == nil {
		t.Error("a native spec passed ValidateVM")
	}
}

type nopDriver struct{}

func (nopDriver) Start(context.Context, MachineSpec) (Machine, error) { return nil, nil }

func TestRegistry(t *testing.T) {
	Register("test-b", nopDriver{})
	Register("test-a", nopDriver{})
	if d, err := Lookup("test-a"); err != nil || d == nil {
		t.Errorf("Lookup = %v, %v", d, err)
	}
	_, err := Lookup("nope")
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "use one of: test-a, test-b") {
		t.Errorf("Lookup(nope) = %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("a duplicate registration did not panic")
		}
	}()
	Register("test-a", nopDriver{})
}

func TestErrNotSupported(t *testing.T) {
	err := errors.Join(errors.New("x"), ErrNotSupported)
	if !errors.Is(err, ErrNotSupported) || !errdefs.IsNotImplemented(ErrNotSupported) || ErrNotSupported.Error() != "not supported on this platform" {
		t.Errorf("ErrNotSupported = %v", ErrNotSupported)
	}
}

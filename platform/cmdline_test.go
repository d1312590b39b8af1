package platform

import (
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skiffrun/skiff/guest/api/wire"
)

func TestGuestArgs(t *testing.T) {
	now := time.Unix(1700000000, 123)
	tests := []struct {
		name   string
		change func(*MachineSpec)
		want   string
	}{
		{"serial, shares, nat", func(*MachineSpec) {},
			"skiff.agent=serial:skiff.agent skiff.disk=vda skiff.share=share0,virtiofs,rw,%2Fhome%2Fu skiff.share=share1,virtiofs,ro,%2Ftmp " +
				"skiff.net=static,10.0.2.15/24,10.0.2.2,10.0.2.3 skiff.hostloop=10.0.2.2 skiff.time=1700000000000000123 skiff.hostname=default"},
		{"user-mode network", func(s *MachineSpec) { s.Network = UserNetwork("/m") },
			" skiff.net=static,192.168.127.2/24,192.168.127.1,192.168.127.1 skiff.hostloop=192.168.127.254 "},
		{"user-mode network relayed from vsock", func(s *MachineSpec) {
			s.Agent = AgentTransport{VsockPort: 10000}
			s.Network = UserNetwork("/m")
			s.Network.Link.VsockPort = UserNetVsockPort
		}, " skiff.hostloop=192.168.127.254 skiff.netvsock=1025 "},
		{"vsock, no disk, no network, debug", func(s *MachineSpec) {
			s.Agent = AgentTransport{VsockPort: 1024}
			s.Disk = Disk{}
			s.Shares = nil
			s.Network = Network{}
			s.Hostname = "box"
			s.Debug = true
		}, "skiff.agent=vsock:1024 skiff.net=none skiff.time=1700000000000000123 skiff.hostname=box skiff.debug=1"},
		{"dhcp", func(s *MachineSpec) { s.Network = Network{Mode: NetworkDHCP} }, " skiff.net=dhcp "},
		{"guest paths are escaped", func(s *MachineSpec) {
			s.Shares = []Share{{HostPath: `C:\My Files,x`, Tag: "c", GuestPath: "/mnt/c/My Files,x", Type: Share9PVsock}}
		}, "skiff.share=c,9p-vsock,rw,%2Fmnt%2Fc%2FMy%20Files%2Cx "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := validVM()
			tc.change(&s)
			args, err := GuestArgs(s, now)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(args, " ")
			if !strings.Contains(got, tc.want) {
				t.Errorf("GuestArgs =\n%s\nwant it to contain\n%s", got, tc.want)
			}
		})
	}
}

// TestGuestArgsReadBack checks a spec's arguments against the agent's
// reading of them.
func TestGuestArgsReadBack(t *testing.T) {
	s := validVM()
	now := time.Unix(1700000000, 123)
	args, err := GuestArgs(s, now, wire.BusPCI)
	if err != nil {
		t.Fatal(err)
	}
	c, err := wire.ParseCmdline("console=hvc0 " + strings.Join(args, " "))
	if err != nil {
		t.Fatal(err)
	}
	if c.Agent != (wire.Transport{Kind: wire.TransportSerial, Name: s.Agent.SerialPort}) || c.Disk != s.Disk.Device ||
		c.Net == nil || c.Net.Addr.String() != s.Network.Address || c.Net.Gateway.String() != s.Network.Gateway || c.Net.DNS.String() != s.Network.DNS ||
		!c.Time.Equal(now) || c.Hostname != s.Name || !slices.Equal(c.Buses, []string{wire.BusPCI}) || len(c.Shares) != len(s.Shares) {
		t.Fatalf("the agent reads %+v from %q", c, args)
	}
	for i, sh := range s.Shares {
		if got := c.Shares[i]; got.Tag != sh.Tag || got.FSType != string(sh.Type) || got.Path != sh.GuestPath || got.ReadOnly != sh.ReadOnly {
			t.Errorf("share %d reads back as %+v, want %+v", i, got, sh)
		}
	}
}

func TestGuestPath(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"unix path", "/Users/me/src", "/Users/me/src"},
		{"unix trailing slash", "/tmp/", "/tmp"},
		{"unix dot dot", "/home/u/../u/src", "/home/u/src"},
		{"drive", `C:\src`, "/mnt/c/src"},
		{"drive letter lowered, spaces kept", `D:\Users\me\a b`, "/mnt/d/Users/me/a b"},
		{"lower-case drive", `d:\x`, "/mnt/d/x"},
		{"drive root", `C:\`, "/mnt/c"},
		{"bare drive", `C:`, "/mnt/c"},
		{"forward slashes", `C:/src/app`, "/mnt/c/src/app"},
		{"mixed slashes, doubled", `C:\\src//app\`, "/mnt/c/src/app"},
		{"dot dot stays on the drive", `C:\..\..\Windows`, "/mnt/c/Windows"},
		{"long-path prefix", `\\?\C:\src`, "/mnt/c/src"},
		{"device-namespace drive", `\\.\E:\data`, "/mnt/e/data"},
		{"UNC", `\\server\share\dir`, "/mnt/unc/server/share/dir"},
		{"UNC share root", `\\server\share`, "/mnt/unc/server/share"},
		{"long-path UNC", `\\?\UNC\server\share\dir`, "/mnt/unc/server/share/dir"},
		{"long-path UNC any case", `\\?\unc\srv\sh`, "/mnt/unc/srv/sh"},
		{"dot dot stays in the UNC share", `\\server\share\a\..\..\..\b`, "/mnt/unc/server/share/b"},
		{"UNC without a share", `\\server`, ""},
		{"UNC share named dot dot", `\\server\..\x`, ""},
		{"named pipe", `\\.\pipe\docker_engine`, ""},
		{"device", `\\?\Volume{0b1e}\x`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := GuestPath(tc.in); got != tc.want {
				t.Errorf("GuestPath(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzGuestPath checks that any host path maps to "" or a clean absolute
// guest path, and that a Windows one stays under /mnt.
func FuzzGuestPath(f *testing.F) {
	for _, s := range []string{"/a/b", `C:\x\..\y`, `\\srv\sh\..`, `\\?\UNC\a\b`, `\\.\c:`, "c:", `\\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := GuestPath(in)
		if got == "" {
			return
		}
		if !isWindowsForm(in) {
			if got != path.Clean(in) {
				t.Fatalf("GuestPath(%q) = %q, want it cleaned only", in, got)
			}
			return
		}
		if !path.IsAbs(got) || path.Clean(got) != got || !strings.HasPrefix(got, "/mnt/") {
			t.Fatalf("GuestPath(%q) = %q, not a clean absolute path under /mnt", in, got)
		}
	})
}

func isWindowsForm(p string) bool {
	return strings.HasPrefix(p, `\\`) || (len(p) >= 2 && p[1] == ':' && isLetter(p[0]))
}

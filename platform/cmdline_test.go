package platform

import (
	"strings"
	"testing"
	"time"
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
				"skiff.net=static,10.0.2.15/24,10.0.2.2,10.0.2.3 skiff.time=1700000000000000123 skiff.hostname=default"},
		{"vsock, no disk, no network, debug", func(s *MachineSpec) {
			s.Agent = AgentTransport{VsockPort: 1024}
			s.Disk = Disk{}
			s.Shares = nil
			s.Network = Network{}
			s.Hostname = "box"
			s.Debug = true
		}, "skiff.agent=vsock:1024 skiff.net=none skiff.time=1700000000000000123 skiff.hostname=box skiff.debug=1"},
		{"guest paths are escaped", func(s *MachineSpec) {
			s.Shares = []Share{{HostPath: `C:\My Files,x`, Tag: "c", GuestPath: "/mnt/c/My Files,x", Type: Share9PVsock}}
		}, "skiff.share=c,9p-vsock,rw,%2Fmnt%2Fc%2FMy%20Files%2Cx "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := validVM()
			tc.change(&s)
			got := strings.Join(GuestArgs(s, now), " ")
			if !strings.Contains(got, tc.want) {
				t.Errorf("GuestArgs =\n%s\nwant it to contain\n%s", got, tc.want)
			}
		})
	}
}

func TestGuestPath(t *testing.T) {
	for in, want := range map[string]string{
		"/Users/me/src":    "/Users/me/src",
		"/tmp/":            "/tmp",
		`C:\src`:           "/mnt/c/src",
		`d:\Users\me\a b`:  "/mnt/d/Users/me/a b",
		`C:\`:              "/mnt/c",
		"/home/u/../u/src": "/home/u/src",
	} {
		if got := GuestPath(in); got != want {
			t.Errorf("GuestPath(%q) = %q, want %q", in, got, want)
		}
	}
}

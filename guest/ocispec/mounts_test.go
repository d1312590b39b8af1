package ocispec

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestBuildUserMounts shows binds and volumes mounted after the system's
// own, parents before children, and a user's file at /etc/hosts
// replacing the generated one.
func TestBuildUserMounts(t *testing.T) {
	o := baseOptions()
	o.HostsPath, o.HostnamePath, o.ResolvConfPath = "/c/hosts", "/c/hostname", "/c/resolv.conf"
	o.Tmpfs = []string{"/run"}
	o.Mounts = []specs.Mount{
		{Destination: "/etc/hosts", Type: "bind", Source: "/mine/hosts", Options: []string{"rbind", "rprivate", "ro"}},
		{Destination: "/etc", Type: "bind", Source: "/vol/_data", Options: []string{"rbind", "rprivate"}},
	}
	s, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range s.Mounts[7:] {
		got = append(got, m.Destination+"="+m.Source)
	}
	want := []string{"/run=tmpfs", "/etc=/vol/_data", "/etc/resolv.conf=/c/resolv.conf", "/etc/hostname=/c/hostname", "/etc/hosts=/mine/hosts"}
	if len(got) != len(want) {
		t.Fatalf("mounts %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("mounts %v, want %v", got, want)
		}
	}
	if s.Mounts[0].Destination != "/proc" || s.Mounts[6].Destination != "/dev/shm" {
		t.Errorf("the system's mounts moved: %v", s.Mounts[:7])
	}
}

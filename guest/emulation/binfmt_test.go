//go:build linux

package emulation

import (
	"strings"
	"testing"
	"time"
)

// The registration lines are what binfmt_misc gets: compared whole, as
// the kernel parses them.
func TestRegistrationStrings(t *testing.T) {
	arm64, _ := archByName("arm64")
	arm, _ := archByName("arm")
	s390x, _ := archByName("s390x")
	for _, tc := range []struct {
		name string
		r    Registration
		want string
	}{
		{"aarch64", qemuRegistration(arm64, "/usr/bin/qemu-aarch64-static"),
			`:skiff-qemu-aarch64:M::\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-aarch64-static:POCF`},
		{"arm", qemuRegistration(arm, "/usr/bin/qemu-arm-static"),
			`:skiff-qemu-arm:M::\x7f\x45\x4c\x46\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x28\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-arm-static:POCF`},
		{"s390x", qemuRegistration(s390x, "/usr/bin/qemu-s390x-static"),
			`:skiff-qemu-s390x:M::\x7f\x45\x4c\x46\x02\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x16:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff:/usr/bin/qemu-s390x-static:POCF`},
		// Apple's documented registration for Rosetta, byte for byte.
		{"rosetta", RosettaRegistration("/run/rosetta/rosetta"),
			`:rosetta:M::\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00:\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/run/rosetta/rosetta:CF`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.String(); got != tc.want {
				t.Errorf("registration\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestMagicMatchesELFHeaders(t *testing.T) {
	// The first 20 bytes of real programs: a static aarch64 executable
	// and a PIE (ET_DYN) arm one, and an x86-64 one that must not match.
	aarch64 := []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00")
	armPIE := []byte("\x7fELF\x01\x01\x01\x03\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00\x28\x00")
	x86 := []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00")
	match := func(a Arch, hdr []byte) bool {
		magic, mask := a.magic()
		for i := range magic {
			if hdr[i]&mask[i] != magic[i]&mask[i] {
				return false
			}
		}
		return true
	}
	arm64, _ := archByName("arm64")
	arm, _ := archByName("arm")
	if !match(arm64, aarch64) || match(arm64, x86) || match(arm64, armPIE) {
		t.Error("arm64's magic matches the wrong programs")
	}
	if !match(arm, armPIE) || match(arm, aarch64) {
		t.Error("arm's magic matches the wrong programs")
	}
}

func TestParseEntry(t *testing.T) {
	e := parseEntry("qemu-aarch64", []byte("enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POCF\noffset 0\nmagic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n"))
	arm64, _ := archByName("arm64")
	amd64, _ := archByName("amd64")
	if !e.handles(arm64) || e.handles(amd64) {
		t.Errorf("entry %+v: handles arm64 %v, amd64 %v", e, e.handles(arm64), e.handles(amd64))
	}
	// Without F the interpreter is looked up in each container's root.
	noF := parseEntry("qemu-aarch64", []byte("enabled\ninterpreter /usr/bin/qemu-aarch64\nflags: P\nmagic 7f454c460201010000000000000000000200b700\n"))
	disabled := parseEntry("qemu-aarch64", []byte("disabled\ninterpreter /usr/bin/qemu-aarch64-static\nflags: F\nmagic 7f454c460201010000000000000000000200b700\n"))
	if noF.handles(arm64) || disabled.handles(arm64) {
		t.Error("an entry without F, or disabled, counted as an emulator")
	}
}

func TestCheck(t *testing.T) {
	s := &Set{emulators: []Emulator{{Arch: "amd64", Kind: KindNative}, {Arch: "arm64", Kind: KindQEMU}}, hint: HostHint}
	if err := s.Check("arm64"); err != nil {
		t.Errorf("arm64: %v", err)
	}
	if err := s.Check(""); err != nil {
		t.Errorf("no architecture: %v", err)
	}
	err := s.Check("s390x")
	if err == nil {
		t.Fatal("s390x runs")
	}
	msg := err.Error()
	for _, want := range []string{"linux/s390x", "qemu-s390x-static", "apt-get install qemu-user-static", "amd64, arm64"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("%q is more than one line", msg)
	}
}

func TestLaterWaitsForSetup(t *testing.T) {
	release := make(chan struct{})
	s := Later(func() *Set {
		<-release
		return &Set{emulators: []Emulator{{Arch: "amd64", Kind: KindNative}, {Arch: "arm64", Kind: KindQEMU}}, hint: HostHint}
	})
	answered := make(chan bool)
	go func() { answered <- s.Runs("arm64") }()
	select {
	case <-answered:
		t.Fatal("the Set answered before its setup was done")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if !<-answered {
		t.Error("arm64 does not run once set up")
	}
	if err := s.Check("s390x"); err == nil || !strings.Contains(err.Error(), "amd64, arm64") {
		t.Errorf("Check after setup: %v", err)
	}
}

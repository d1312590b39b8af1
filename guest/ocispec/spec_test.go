package ocispec

import (
	"slices"
	"testing"

	"github.com/containerd/errdefs"
)

// capMask is the CapEff bit mask of a capability list, as /proc shows it.
func capMask(t *testing.T, caps []string) uint64 {
	t.Helper()
	var m uint64
	for _, c := range caps {
		i := slices.Index(allCapabilities, c)
		if i < 0 {
			t.Fatalf("unknown capability %s", c)
		}
		m |= 1 << i
	}
	return m
}

func TestDefaultCapabilitiesMatchDocker(t *testing.T) {
	// Docker's default CapEff, as `grep CapEff /proc/self/status` prints
	// it in a docker run container.
	const dockerCapEff = 0x00000000a80425fb
	if got := capMask(t, DefaultCapabilities); got != dockerCapEff {
		t.Fatalf("default CapEff %#x, want %#x", got, dockerCapEff)
	}
}

func TestCapabilities(t *testing.T) {
	tests := []struct {
		name      string
		add, drop []string
		has       []string
		lacks     []string
		wantErr   bool
	}{
		{name: "add", add: []string{"net_admin"}, has: []string{"CAP_NET_ADMIN", "CAP_CHOWN"}},
		{name: "drop", drop: []string{"CAP_CHOWN"}, lacks: []string{"CAP_CHOWN"}, has: []string{"CAP_KILL"}},
		{name: "drop all add one", drop: []string{"ALL"}, add: []string{"KILL"}, has: []string{"CAP_KILL"}, lacks: []string{"CAP_CHOWN"}},
		{name: "add all", add: []string{"all"}, has: []string{"CAP_SYS_ADMIN", "CAP_BPF"}},
		{name: "unknown", add: []string{"FLY"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Capabilities(DefaultCapabilities, tc.add, tc.drop)
			if tc.wantErr {
				if !errdefs.IsInvalidArgument(err) {
					t.Fatalf("err %v, want invalid argument", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tc.has {
				if !slices.Contains(got, c) {
					t.Errorf("missing %s in %v", c, got)
				}
			}
			for _, c := range tc.lacks {
				if slices.Contains(got, c) {
					t.Errorf("unexpected %s in %v", c, got)
				}
			}
		})
	}
}

func baseOptions() Options {
	return Options{ID: "c1", Rootfs: "/r", Args: []string{"sh"}, CgroupsPath: "/skiff/c1"}
}

func TestBuildDefaults(t *testing.T) {
	s, err := Build(baseOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"} {
		if !slices.Contains(s.Linux.MaskedPaths, p) {
			t.Errorf("%s not masked", p)
		}
	}
	if !slices.Contains(s.Linux.ReadonlyPaths, "/proc/sysrq-trigger") {
		t.Error("/proc/sysrq-trigger not read-only")
	}
	var ns []string
	for _, n := range s.Linux.Namespaces {
		ns = append(ns, string(n.Type))
	}
	for _, want := range []string{"pid", "mount", "uts", "ipc", "network"} {
		if !slices.Contains(ns, want) {
			t.Errorf("namespace %s missing from %v", want, ns)
		}
	}
	if s.Linux.Seccomp == nil || len(s.Linux.Seccomp.Syscalls) == 0 {
		t.Error("no default seccomp profile")
	}
	if s.Process.Cwd != "/" {
		t.Errorf("cwd %q, want /", s.Process.Cwd)
	}
}

func TestBuildPrivileged(t *testing.T) {
	o := baseOptions()
	o.Privileged = true
	s, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Linux.MaskedPaths) != 0 || s.Linux.Seccomp != nil {
		t.Error("privileged container still masked or filtered")
	}
	if !slices.Contains(s.Process.Capabilities.Effective, "CAP_SYS_ADMIN") {
		t.Error("privileged container lacks CAP_SYS_ADMIN")
	}
}

func TestBuildResources(t *testing.T) {
	o := baseOptions()
	o.Resources = Resources{Memory: 64 << 20, NanoCPUs: 1_500_000_000, PidsLimit: 20}
	o.Ulimits = []Ulimit{{Name: "nofile", Soft: 100, Hard: 200}}
	s, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	r := s.Linux.Resources
	if *r.Memory.Limit != 64<<20 || *r.CPU.Quota != 150000 || *r.CPU.Period != 100000 || *r.Pids.Limit != 20 {
		t.Errorf("resources %+v %+v %+v", r.Memory, r.CPU, r.Pids)
	}
	if len(s.Process.Rlimits) != 1 || s.Process.Rlimits[0].Type != "RLIMIT_NOFILE" || s.Process.Rlimits[0].Hard != 200 {
		t.Errorf("rlimits %+v", s.Process.Rlimits)
	}
}

func TestBuildRejects(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Options)
	}{
		{"relative cwd", func(o *Options) { o.Cwd = "work" }},
		{"unknown ulimit", func(o *Options) { o.Ulimits = []Ulimit{{Name: "bogus", Soft: 1, Hard: 1}} }},
		{"soft above hard", func(o *Options) { o.Ulimits = []Ulimit{{Name: "nofile", Soft: 2, Hard: 1}} }},
		{"no args", func(o *Options) { o.Args = nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := baseOptions()
			tc.mod(&o)
			if _, err := Build(o); !errdefs.IsInvalidArgument(err) {
				t.Fatalf("err %v, want invalid argument", err)
			}
		})
	}
}

func TestSeccompArches(t *testing.T) {
	tests := []struct {
		machine, image string
		want           []string
	}{
		{"amd64", "amd64", []string{"SCMP_ARCH_X86_64"}},
		{"amd64", "386", []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}},
		{"arm64", "arm64", []string{"SCMP_ARCH_AARCH64"}},
		{"arm64", "arm", []string{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}},
	}
	for _, tc := range tests {
		var got []string
		for _, a := range seccompArches(tc.machine, tc.image) {
			got = append(got, string(a))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s machine, %s image: %v, want %v", tc.machine, tc.image, got, tc.want)
		}
	}
}

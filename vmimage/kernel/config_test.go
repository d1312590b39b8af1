package kernel

import (
	"slices"
	"testing"
)

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte("#\n# Automatically generated\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_S=\"x y\"\n\nCONFIG_N=3\n# a comment\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{"CONFIG_A": "y", "CONFIG_B": "n", "CONFIG_S": `"x y"`, "CONFIG_N": "3"}
	if len(c) != len(want) {
		t.Fatalf("got %v, want %v", c, want)
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("%s = %q, want %q", k, c[k], v)
		}
	}
	for _, bad := range []string{"CONFIG_A", "A=y", "CONFIG_=y", "CONFIG_A=", "CONFIG_A-B=y"} {
		if _, err := ParseConfig([]byte(bad + "\n")); err == nil {
			t.Errorf("ParseConfig(%q) gave no error", bad)
		}
	}
}

func TestMissing(t *testing.T) {
	want := Config{"CONFIG_A": "y", "CONFIG_B": "n", "CONFIG_C": "y", "CONFIG_D": "y", "CONFIG_E": "n"}
	have := Config{"CONFIG_A": "y", "CONFIG_B": "y", "CONFIG_C": "m", "CONFIG_E": "n"}
	got := Missing(want, have)
	exp := []string{"CONFIG_B=y (want it not set)", "CONFIG_C=y (have m)", "CONFIG_D=y (have not set)"}
	if !slices.Equal(got, exp) {
		t.Errorf("Missing = %q, want %q", got, exp)
	}
}

// The fragments must parse, ask for no modules and carry what the
// machine cannot boot without.
func TestFragments(t *testing.T) {
	for _, arch := range []string{"amd64", "arm64"} {
		data, err := Fragment(arch)
		if err != nil {
			t.Fatal(err)
		}
		c, err := ParseConfig(data)
		if err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		for sym, v := range c {
			if v == "m" {
				t.Errorf("%s: %s=m: the kernel has no modules", arch, sym)
			}
		}
		for _, sym := range []string{"CONFIG_MODULES"} {
			if c[sym] != "n" {
				t.Errorf("%s: %s is %q, want not set", arch, sym, c[sym])
			}
		}
		for _, sym := range []string{"CONFIG_IKCONFIG_PROC", "CONFIG_VIRTIO_CONSOLE", "CONFIG_EXT4_FS", "CONFIG_VIRTIO_BALLOON", "CONFIG_PAGE_REPORTING"} {
			if c[sym] != "y" {
				t.Errorf("%s: %s is %q, want y", arch, sym, c[sym])
			}
		}
	}
	if c, _ := Fragment("amd64"); !slices.Contains(splitLines(c), "CONFIG_PVH=y") {
		t.Error("amd64 fragment lacks CONFIG_PVH=y")
	}
	if _, err := Fragment("riscv64"); err == nil {
		t.Error("Fragment(riscv64) gave no error")
	}
}

func splitLines(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == '\n' {
			out = append(out, string(b[start:i]))
			start = i + 1
		}
	}
	return out
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("CONFIG_A=y\n# CONFIG_B is not set\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		for k := range c {
			if !isSymbol(k) {
				t.Fatalf("parsed symbol %q", k)
			}
		}
	})
}

package ociplatform

import (
	"runtime"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"linux/amd64", "linux/amd64"},
		{"linux/arm64", "linux/arm64"},
		{"linux/arm64/v8", "linux/arm64"},
		{"linux/aarch64", "linux/arm64"},
		{"linux/x86_64", "linux/amd64"},
		{"linux/amd64/v3", "linux/amd64/v3"},
		{"linux/amd64/v1", "linux/amd64"},
		{"linux/arm/v7", "linux/arm/v7"},
		{"linux/arm", "linux/arm/v7"},
		{"linux/armhf", "linux/arm/v7"},
		{"linux/arm/v6", "linux/arm/v6"},
		{"linux/386", "linux/386"},
		{"linux/i386", "linux/386"},
		{"linux/riscv64", "linux/riscv64"},
		{"Linux/AMD64", "linux/amd64"},
		{"arm64", "linux/arm64"},
		{"aarch64", "linux/arm64"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			p, err := Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := Format(p); got != tc.want {
				t.Errorf("Parse(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	for _, in := range []string{
		"", "linux", runtime.GOOS, "windows/amd64", "darwin/arm64", "linux/", "/amd64", "linux/amd64/", "linux//v7",
		"linux/foo", "foo", "linux/amd64/v9", "linux/arm/v9", "linux/386/v2", "linux/amd64/v3/x",
		"linux(10.0)/amd64", "linux/*", "linux/am d64", "linux/amd64\n", strings.Repeat("a", 100),
	} {
		t.Run(in, func(t *testing.T) {
			p, err := Parse(in)
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want an error", in, Format(p))
			}
			if !errdefs.IsInvalidArgument(err) {
				t.Errorf("error %v is not invalid argument", err)
			}
			if !strings.Contains(err.Error(), "linux/arm64") {
				t.Errorf("error %q does not list the accepted forms", err)
			}
		})
	}
}

func TestMatcherBest(t *testing.T) {
	idx := []Platform{
		{OS: "linux", Architecture: "amd64"},
		{OS: "linux", Architecture: "arm64", Variant: "v8"},
		{OS: "linux", Architecture: "arm", Variant: "v6"},
		{OS: "linux", Architecture: "arm", Variant: "v7"},
		{OS: "linux", Architecture: "386"},
		{OS: "unknown", Architecture: "unknown"},
	}
	for _, tc := range []struct {
		want string
		best int
	}{
		{"linux/amd64", 0},
		{"linux/amd64/v3", 0},
		{"linux/arm64", 1},
		{"linux/arm/v7", 3},
		{"linux/arm/v6", 2},
		{"linux/arm/v5", -1},
		{"linux/386", 4},
		{"linux/s390x", -1},
	} {
		t.Run(tc.want, func(t *testing.T) {
			w, err := Parse(tc.want)
			if err != nil {
				t.Fatal(err)
			}
			if got := NewMatcher(w).Best(idx); got != tc.best {
				t.Errorf("best for %s = %d, want %d", tc.want, got, tc.best)
			}
		})
	}
	// No other architecture stands in for the wanted one.
	if got := NewMatcher(Platform{OS: "linux", Architecture: "amd64"}).Best(idx[4:5]); got != -1 {
		t.Errorf("386 matched amd64")
	}
	if got := NewMatcher(Platform{OS: "linux", Architecture: "arm64"}).Best(idx[2:4]); got != -1 {
		t.Errorf("arm matched arm64")
	}
}

func TestNoMatch(t *testing.T) {
	err := NoMatch(Platform{OS: "linux", Architecture: "s390x"}, []Platform{
		{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64", Variant: "v8"}, {OS: "unknown", Architecture: "unknown"},
	})
	if !errdefs.IsNotFound(err) {
		t.Errorf("%v is not a not-found error", err)
	}
	if want := "the image provides linux/amd64, linux/arm64/v8:"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
}

func TestDetected(t *testing.T) {
	d := Detected()
	if d.OS != "linux" || d.Architecture != runtime.GOARCH {
		t.Errorf("Detected() = %s", Format(d))
	}
	if runtime.GOARCH == "amd64" && !strings.HasPrefix(d.Variant, "v") {
		t.Errorf("amd64 level %q", d.Variant)
	}
}

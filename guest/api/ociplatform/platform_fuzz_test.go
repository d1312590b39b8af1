package ociplatform

import (
	"slices"
	"testing"
)

// FuzzParse checks that Parse never panics, that what it accepts is a
// Linux platform of a known architecture and variant, and that its
// formatted form parses back to itself.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"linux/amd64", "linux/arm64/v8", "linux/arm/v7", "linux/386", "arm64", "aarch64", "linux/amd64/v3",
		"windows(10.0.17763+win32k)/amd64", "linux/*", "linux//", "/", "linux/arm/7", "armel", "linux/arm64/9.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		if p.OS != "linux" || !slices.Contains(arches, p.Architecture) {
			t.Fatalf("Parse(%q) = %+v", s, p)
		}
		if p.Variant != "" && !slices.Contains(variants[p.Architecture], p.Variant) {
			t.Fatalf("Parse(%q) has variant %q", s, p.Variant)
		}
		q, err := Parse(Format(p))
		if err != nil {
			t.Fatalf("Parse(Format(Parse(%q)) = %q): %v", s, Format(p), err)
		}
		if !Same(p, q) || Format(p) != Format(q) {
			t.Fatalf("%q: %s does not parse back (%s)", s, Format(p), Format(q))
		}
	})
}

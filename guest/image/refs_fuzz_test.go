package image

import (
	"strings"
	"testing"
)

// FuzzParseTag feeds the reference parser used for tags, loads and pulls
// untrusted names: it must never panic, and what it accepts is a
// normalised name:tag that parses again to itself.
func FuzzParseTag(f *testing.F) {
	for _, seed := range []string{
		"busybox", "busybox:1.36", "localhost/busybox:latest", "docker.io/library/ubuntu",
		"127.0.0.1:5000/a/b/c:tag", "registry.example.com:443/x", "UPPER/case", "a@sha256:abc",
		"::", "/", "a//b", strings.Repeat("a", 300), "x:" + strings.Repeat("t", 200),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		named, err := parseTag(s)
		if err != nil {
			return
		}
		again, err := parseTag(named.String())
		if err != nil {
			t.Fatalf("%q parsed to %q, which does not parse: %v", s, named.String(), err)
		}
		if again.String() != named.String() {
			t.Fatalf("%q: %q then %q", s, named.String(), again.String())
		}
	})
}

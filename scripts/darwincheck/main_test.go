package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestBrokenFixtureFails(t *testing.T) {
	var out bytes.Buffer
	_, err := check(&out, "arm64", "", false, false, []string{"./testdata/broken"})
	if !errors.Is(err, errTypes) {
		t.Fatalf("err %v, want type errors; output %s", err, out.String())
	}
	if !strings.Contains(out.String(), "broken_darwin.go") {
		t.Fatalf("the error does not name the darwin file: %s", out.String())
	}
}

func TestGoodFixturePassesWithCgo(t *testing.T) {
	var out bytes.Buffer
	n, err := check(&out, "amd64", "", false, false, []string{"./testdata/good"})
	if err != nil || n != 1 {
		t.Fatalf("n=%d err=%v output %s", n, err, out.String())
	}
}

// TestVzMisuseFails checks that a wrong call into Code-Hex/vz, a cgo
// package, is an error for both Mac architectures.
func TestVzMisuseFails(t *testing.T) {
	for _, arch := range []string{"arm64", "amd64"} {
		var out bytes.Buffer
		_, err := check(&out, arch, "", false, false, []string{"./testdata/vzmisuse"})
		if !errors.Is(err, errTypes) {
			t.Fatalf("%s: err %v, want type errors; output %s", arch, err, out.String())
		}
		if !strings.Contains(out.String(), "vzmisuse_darwin.go") || !strings.Contains(out.String(), "vm.Stop") {
			t.Errorf("%s: the error does not name the bad call: %s", arch, out.String())
		}
	}
}

// TestVzDriverPasses checks the vz driver and its tests, with the
// per-architecture Rosetta files, as they build on each Mac.
func TestVzDriverPasses(t *testing.T) {
	for _, arch := range []string{"arm64", "amd64"} {
		var out bytes.Buffer
		n, err := check(&out, arch, "", true, false, []string{"../../platform/vz"})
		if err != nil || n == 0 {
			t.Errorf("%s: n=%d err=%v output %s", arch, n, err, out.String())
		}
	}
}

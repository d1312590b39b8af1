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

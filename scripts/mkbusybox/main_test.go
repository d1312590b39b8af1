package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// testApplets stand for a binary's applet table.
var testApplets = []string{"[", "[[", "httpd", "ls", "nslookup", "sh", "vi"}

func build(t *testing.T, arch string) []byte {
	t.Helper()
	img, err := buildImage([]byte("not really busybox"), testApplets, arch, epoch)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "busybox.tar")
	if err := writeArchive(out, name.MustParseReference("localhost/busybox:latest").(name.Tag), img); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDeterministic(t *testing.T) {
	for _, arch := range []string{"amd64", "arm64"} {
		if !bytes.Equal(build(t, arch), build(t, arch)) {
			t.Errorf("%s: two builds differ", arch)
		}
	}
	if bytes.Equal(build(t, "amd64"), build(t, "arm64")) {
		t.Error("amd64 and arm64 builds are the same")
	}
}

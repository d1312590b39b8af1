//go:build e2e

package main_test

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCp copies a file and a folder out of a container and into it, as a
// tar on stdin and stdout too, and refuses an archive that climbs out.
func TestCp(t *testing.T) {
	name := "cp-test"
	cleanup(t, name)
	must(t, "run", "-d", "--name", name, busybox, "sh", "-c", "mkdir -p /data/sub && echo hello > /data/sub/f && ln -s /etc/passwd /data/link && sleep 600")
	eventually(t, 10*time.Second, "the container's files", func() bool { return skiff(t, "exec", name, "test", "-f", "/data/sub/f").code == 0 })
	host := t.TempDir()

	must(t, "cp", name+":/data/sub/f", filepath.Join(host, "copy"))
	if b, _ := os.ReadFile(filepath.Join(host, "copy")); string(b) != "hello\n" {
		t.Fatalf("file copied out: %q", b)
	}
	must(t, "cp", name+":/data", host)
	if b, _ := os.ReadFile(filepath.Join(host, "data", "sub", "f")); string(b) != "hello\n" {
		t.Fatalf("folder copied out: %q", b)
	}
	if l, err := os.Readlink(filepath.Join(host, "data", "link")); err != nil || l != "/etc/passwd" {
		t.Fatalf("symlink copied out: %q %v", l, err)
	}

	if err := os.WriteFile(filepath.Join(host, "in.txt"), []byte("into the container\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	must(t, "cp", filepath.Join(host, "in.txt"), name+":/data/")
	must(t, "cp", filepath.Join(host, "in.txt"), name+":/renamed.txt")
	if out := must(t, "exec", name, "cat", "/data/in.txt", "/renamed.txt"); out != "into the container\ninto the container" {
		t.Fatalf("copied in: %q", out)
	}

	tarOut := skiff(t, "cp", name+":/data/sub", "-")
	if tarOut.code != 0 {
		t.Fatalf("cp to stdout: %s", tarOut)
	}
	tr := tar.NewReader(strings.NewReader(tarOut.stdout))
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	if strings.Join(names, " ") != "sub/ sub/f" {
		t.Fatalf("tar on stdout holds %v", names)
	}

	// An archive on stdin goes in; one that climbs out or goes through a
	// symlink out of the container is refused, and writes nothing outside.
	must2 := func(entries ...tarEntry) result {
		return skiffIn(t, string(tarOf(t, entries...)), "cp", "-", name+":/data")
	}
	if r := must2(tarEntry{"fromstdin", "stdin\n", 0}); r.code != 0 {
		t.Fatalf("cp from stdin: %s", r)
	}
	if out := must(t, "exec", name, "cat", "/data/fromstdin"); out != "stdin" {
		t.Fatalf("copied from stdin: %q", out)
	}
	for _, bad := range [][]tarEntry{
		{{"../../escaped", "x", 0}},
		{{"up", "/", tar.TypeSymlink}, {"up/escaped", "x", 0}},
	} {
		if r := must2(bad...); r.code == 0 {
			t.Fatalf("a hostile archive was accepted: %s", r)
		}
	}
	if r := skiff(t, "exec", name, "sh", "-c", "test -e /escaped || test -e /data/up/escaped"); r.code == 0 {
		t.Fatal("a hostile archive wrote outside its directory")
	}
	if r := skiff(t, "cp", name+":/nope", host); r.code == 0 || !strings.Contains(r.stderr, "Could not find the file /nope") {
		t.Fatalf("cp of a missing path: %s", r)
	}

	// A stopped container's files can be copied too.
	must(t, "kill", name)
	must(t, "wait", name)
	must(t, "cp", name+":/data/in.txt", filepath.Join(host, "after-stop"))
	if b, _ := os.ReadFile(filepath.Join(host, "after-stop")); !bytes.Equal(b, []byte("into the container\n")) {
		t.Fatalf("copied out of a stopped container: %q", b)
	}
}

type tarEntry struct {
	name, body string
	typ        byte
}

func tarOf(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: tar.TypeReg}
		if e.typ == tar.TypeSymlink {
			h = &tar.Header{Name: e.name, Linkname: e.body, Typeflag: tar.TypeSymlink, Mode: 0o777}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	return buf.Bytes()
}

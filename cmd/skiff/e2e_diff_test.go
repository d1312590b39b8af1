//go:build e2e

package main_test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDiff lists a container's added, changed and deleted paths through
// skiff diff and the Docker API.
func TestDiff(t *testing.T) {
	name := "e2e-diff"
	cleanup(t, name)
	must(t, "run", "-d", "--name", name, busybox, "sh", "-c", "mkdir -p /data; echo x > /data/new.txt; echo more >> /etc/passwd; rm /bin/vi; touch /ready; sleep 300")
	eventually(t, 10*time.Second, "the container's changes", func() bool { return skiff(t, "exec", name, "test", "-e", "/ready").code == 0 })
	out := must(t, "diff", name)
	for _, want := range []string{"A /data", "A /data/new.txt", "C /etc", "C /etc/passwd", "C /bin", "D /bin/vi"} {
		if !containsLine(out, want) {
			t.Errorf("diff lacks %q:\n%s", want, out)
		}
	}
	for _, own := range []string{"A /etc/hosts", "A /etc/hostname", "A /etc/resolv.conf"} {
		if containsLine(out, own) {
			t.Errorf("diff lists the agent's own mount target %q:\n%s", own, out)
		}
	}
	if r := skiff(t, "diff", "no-such-container-here"); r.code == 0 || !strings.Contains(r.stderr, "no-such-container-here") {
		t.Errorf("diff of a missing container: %s", r)
	}

	startForDocker(t)
	code, body := dockerAPI(t, "GET", "/containers/"+name+"/changes", nil)
	if code != http.StatusOK {
		t.Fatalf("GET changes: %d %s", code, body)
	}
	var changes []struct {
		Path string
		Kind int
	}
	if err := json.Unmarshal(body, &changes); err != nil {
		t.Fatalf("changes JSON: %v: %s", err, body)
	}
	kinds := map[string]int{}
	for _, c := range changes {
		kinds[c.Path] = c.Kind
	}
	if kinds["/data/new.txt"] != 1 || kinds["/etc/passwd"] != 0 || kinds["/bin/vi"] != 2 {
		t.Errorf("API changes: %s", body)
	}
}

func containsLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// TestExport exports a running container's filesystem, with its changes
// and without its kernel filesystems, through skiff export and the
// Docker API, and imports it back.
func TestExport(t *testing.T) {
	name := "e2e-export"
	tag := "localhost/e2e-export:latest"
	cleanup(t, name)
	removeImages(t, tag)
	must(t, "run", "-d", "--name", name, "-v", "/vol", busybox, "sh", "-c", "echo exported > /made.txt; echo v > /vol/in-volume; rm /bin/vi; touch /ready; sleep 300")
	eventually(t, 10*time.Second, "the container's changes", func() bool { return skiff(t, "exec", name, "test", "-e", "/ready").code == 0 })

	out := filepath.Join(t.TempDir(), "rootfs.tar")
	must(t, "export", "-o", out, name)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	files := tarFiles(t, data)
	if files["made.txt"] != "exported\n" {
		t.Errorf("export lacks the container's file: %q", files["made.txt"])
	}
	if _, ok := files["bin/sh"]; !ok {
		t.Errorf("export lacks the image's /bin/sh")
	}
	for _, gone := range []string{"bin/vi", "vol/in-volume", "proc/self", "proc/1/status"} {
		if _, ok := files[gone]; ok {
			t.Errorf("export holds %s", gone)
		}
	}
	r := skiff(t, "export", name)
	if r.code != 0 || r.stdout != string(data) && len(r.stdout) < len(data)/2 {
		t.Errorf("export to standard output: code %d, %d bytes (the file has %d)", r.code, len(r.stdout), len(data))
	}
	must(t, "import", out, tag)
	if got := must(t, "run", "--rm", tag, "cat", "/made.txt"); got != "exported" {
		t.Errorf("the imported export: %q", got)
	}

	startForDocker(t)
	code, body := dockerAPI(t, "GET", "/containers/"+name+"/export", nil)
	if code != http.StatusOK {
		t.Fatalf("GET export: %d %.300s", code, body)
	}
	if tarFiles(t, body)["made.txt"] != "exported\n" {
		t.Errorf("the API's export lacks the container's file")
	}
	if code, body := dockerAPI(t, "GET", "/containers/no-such-container-here/export", nil); code != http.StatusNotFound {
		t.Errorf("GET export of a missing container: %d %s", code, body)
	}
}

// tarFiles maps a tar's names (without a leading ./ or /) to the
// contents of its regular files ("" for the rest).
func tarFiles(t *testing.T, data []byte) map[string]string {
	t.Helper()
	files := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		b, _ := io.ReadAll(tr)
		files[strings.TrimPrefix(strings.TrimPrefix(h.Name, "./"), "/")] = string(b)
	}
}

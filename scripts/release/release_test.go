package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var epoch = time.Unix(1700000000, 0).UTC()

// stage writes a staged release folder named platform: an executable,
// a data file and a subfolder.
func stage(t *testing.T, platform string, mtime time.Time) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), platform)
	files := map[string]os.FileMode{"skiff": 0o755, "vmimage/amd64/manifest.json": 0o600, "docker-compose": 0o700}
	for name, mode := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("contents of "+name), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func pack(t *testing.T, dir string) []byte {
	t.Helper()
	out := t.TempDir()
	name, err := writeArchive(out, dir, "v1.2.3", epoch)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(out, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestArchivesAreReproducible packs the same files staged at different
// times with different modes' group bits: the archives must not differ.
func TestArchivesAreReproducible(t *testing.T) {
	for _, p := range []string{"linux-arm64", "windows-amd64"} {
		a := pack(t, stage(t, p, time.Now()))
		b := pack(t, stage(t, p, time.Now().Add(-time.Hour)))
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two archives of the same files differ", p)
		}
	}
}

type member struct {
	name string
	mode os.FileMode
	time time.Time
}

func TestTarGzEntries(t *testing.T) {
	gz, err := gzip.NewReader(bytes.NewReader(pack(t, stage(t, "linux-amd64", time.Now()))))
	if err != nil {
		t.Fatal(err)
	}
	if gz.Name != "" || !gz.ModTime.IsZero() {
		t.Errorf("gzip header names %q at %v; want neither", gz.Name, gz.ModTime)
	}
	var got []member
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "root" {
			t.Errorf("%s owned by %d:%d %s", hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname)
		}
		got = append(got, member{hdr.Name, hdr.FileInfo().Mode(), hdr.ModTime.UTC()})
	}
	checkMembers(t, got)
}

func TestZipEntries(t *testing.T) {
	data := pack(t, stage(t, "windows-arm64", time.Now()))
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var got []member
	for _, f := range zr.File {
		got = append(got, member{f.Name, f.Mode(), f.Modified.UTC()})
	}
	checkMembers(t, got)
}

func checkMembers(t *testing.T, got []member) {
	t.Helper()
	var names []string
	for _, m := range got {
		names = append(names, m.name)
		if !m.time.Equal(epoch) {
			t.Errorf("%s: time %v, want %v", m.name, m.time, epoch)
		}
		want := os.FileMode(0o644)
		switch {
		case strings.HasSuffix(m.name, "/"):
			want = os.ModeDir | 0o755
		case strings.HasSuffix(m.name, "/skiff"), strings.HasSuffix(m.name, "/docker-compose"):
			want = 0o755
		}
		if m.mode != want {
			t.Errorf("%s: mode %v, want %v", m.name, m.mode, want)
		}
	}
	if !slices.IsSorted(names) || len(names) != 6 {
		t.Errorf("entries %q: want 6, sorted", names)
	}
	prefix := strings.TrimSuffix(names[0], "/")
	if !strings.HasPrefix(prefix, "skiff-v1.2.3-") {
		t.Errorf("top folder %q", names[0])
	}
	for _, n := range names {
		if !strings.HasPrefix(n, prefix+"/") {
			t.Errorf("%s is outside the archive's folder %s", n, prefix)
		}
	}
}

func TestStagedFolderName(t *testing.T) {
	if _, err := writeArchive(t.TempDir(), stage(t, "plan9-amd64", epoch), "v1", epoch); err == nil {
		t.Error("a folder named plan9-amd64 was packed")
	}
	if err := checkVersion(`1"; system "x`); err == nil {
		t.Error("a version with quotes was taken")
	}
}

func TestManifests(t *testing.T) {
	out := t.TempDir()
	for _, p := range []string{"linux-amd64", "linux-arm64", "windows-amd64", "windows-arm64"} {
		if _, err := writeArchive(out, stage(t, p, epoch), "1.2.3", epoch); err != nil {
			t.Fatal(err)
		}
	}
	// An older version's archive in the folder stays out of both.
	if err := os.WriteFile(filepath.Join(out, "skiff-1.0.0-linux-amd64.tar.gz"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeSums(out); err != nil {
		t.Fatal(err)
	}
	if err := writeManifests(out, "1.2.3", "https://example.com/releases/1.2.3/"); err != nil {
		t.Fatal(err)
	}
	sums, err := readSums(filepath.Join(out, sumsFile))
	if err != nil || len(sums) != 5 {
		t.Fatalf("sums %v, %v", sums, err)
	}
	rb, err := os.ReadFile(filepath.Join(out, "skiff.rb"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"linux-amd64", "linux-arm64"} {
		name := archiveName("1.2.3", p)
		if !strings.Contains(string(rb), `url "https://example.com/releases/1.2.3/`+name+`"`+"\n      sha256 \""+sums[name]+`"`) {
			t.Errorf("the formula has no url and sha256 of %s:\n%s", name, rb)
		}
	}
	if strings.Contains(string(rb), "on_macos") || strings.Contains(string(rb), "1.0.0") || strings.Contains(string(rb), ".zip") {
		t.Errorf("the formula names archives it should not:\n%s", rb)
	}
	js, err := os.ReadFile(filepath.Join(out, "skiff.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sc scoop
	if err := json.Unmarshal(js, &sc); err != nil {
		t.Fatal(err)
	}
	for arch, p := range map[string]string{"64bit": "windows-amd64", "arm64": "windows-arm64"} {
		name := archiveName("1.2.3", p)
		a := sc.Architecture[arch]
		if a.Hash != sums[name] || a.URL != "https://example.com/releases/1.2.3/"+name || a.ExtractDir != "skiff-1.2.3-"+p {
			t.Errorf("scoop %s: %+v; want %s %s", arch, a, name, sums[name])
		}
	}
	if sc.Version != "1.2.3" || sc.Bin != "skiff.exe" || len(sc.Architecture) != 2 {
		t.Errorf("scoop manifest %+v", sc)
	}
}

func TestManifestsBadInput(t *testing.T) {
	out := t.TempDir()
	if err := writeManifests(out, "1.0", "https://example.com/r"); err == nil || !strings.Contains(err.Error(), "make dist") {
		t.Errorf("no SHA256SUMS: %v", err)
	}
	os.WriteFile(filepath.Join(out, sumsFile), []byte("abc  skiff-1.0-linux-amd64.tar.gz\n"), 0o644)
	if err := writeManifests(out, "1.0", "https://example.com/r"); err == nil || !strings.Contains(err.Error(), ":1:") {
		t.Errorf("a short sum: %v", err)
	}
	for _, base := range []string{"ftp://example.com/r", `https://example.com/"#{x}`, "/local/dir"} {
		if err := writeManifests(out, "1.0", base); err == nil {
			t.Errorf("url %q was taken", base)
		}
	}
}

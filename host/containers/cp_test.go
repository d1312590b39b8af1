package containers

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func hostileTar(f interface{ Fatal(...any) }, entries ...tar.Header) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		h := h
		body := ""
		if h.Typeflag == tar.TypeReg {
			body = "x"
			h.Size = 1
		}
		if err := tw.WriteHeader(&h); err != nil {
			f.Fatal(err)
		}
		_, _ = tw.Write([]byte(body))
	}
	_ = tw.Close()
	return buf.Bytes()
}

// FuzzExtract checks that an archive a container sends (skiff cp out of
// it) writes nothing outside the destination, however it is made. Run it
// with go test -fuzz=FuzzExtract ./host/containers.
func FuzzExtract(f *testing.F) {
	reg := func(name string) tar.Header { return tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644} }
	link := func(name, to string) tar.Header {
		return tar.Header{Name: name, Linkname: to, Typeflag: tar.TypeSymlink, Mode: 0o777}
	}
	for _, seed := range [][]tar.Header{
		{reg("top/f"), {Name: "top/d/", Typeflag: tar.TypeDir, Mode: 0o755}},
		{reg("../outside")},
		{reg("/abs")},
		{link("top/up", ".."), reg("top/up/outside")},
		{link("top/abs", "/"), reg("top/abs/tmp/outside")},
		{link("top/f", "../outside"), reg("top/f")},
	} {
		f.Add(hostileTar(f, seed...), "")
		f.Add(hostileTar(f, seed...), "renamed")
	}
	f.Fuzz(func(t *testing.T, data []byte, rename string) {
		if strings.ContainsAny(rename, `/\`) || rename == ".." {
			return
		}
		parent := t.TempDir()
		dest := filepath.Join(parent, "dest")
		if err := os.Mkdir(dest, 0o755); err != nil {
			t.Fatal(err)
		}
		_ = extract(bytes.NewReader(data), dest, rename)
		entries, err := os.ReadDir(parent)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Name() != "dest" {
			t.Fatalf("extract wrote beside its destination: %v", entries)
		}
		fi, err := os.Lstat(dest)
		if err != nil || fi.Mode()&fs.ModeSymlink != 0 {
			t.Fatalf("the destination itself was replaced: %v %v", fi, err)
		}
	})
}

func TestSplitCopyArg(t *testing.T) {
	for arg, want := range map[string][2]string{
		"web:/etc/hosts": {"web", "/etc/hosts"},
		"/tmp/a:b":       {"", "/tmp/a:b"},
		"./x:y":          {"", "./x:y"},
		"-":              {"", "-"},
		"file":           {"", "file"},
	} {
		if c, p := splitCopyArg(arg); c != want[0] || p != want[1] {
			t.Errorf("splitCopyArg(%q) = %q, %q", arg, c, p)
		}
	}
}

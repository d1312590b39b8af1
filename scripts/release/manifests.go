package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/template"
)

const (
	homepage    = "https://github.com/skiffrun/skiff"
	description = "Run Linux containers with the docker commands you know, in a small VM or natively"
)

// asset is one archive as a manifest names it.
type asset struct{ URL, SHA256, Folder string }

// formula is the Homebrew formula. Homebrew unpacks the archive and
// enters its one folder; everything goes to libexec, where skiff finds
// docker-compose, the agent and the guest image beside itself (it
// resolves the bin/ symlink), and only skiff goes on PATH.
var formula = template.Must(template.New("skiff.rb").Parse(`# skiff's Homebrew formula, written by scripts/release from SHA256SUMS.
class Skiff < Formula
  desc "{{.Desc}}"
  homepage "{{.Homepage}}"
  version "{{.Version}}"
{{- range $os, $arches := .Brew}}

  on_{{$os}} do
{{- range $arch, $a := $arches}}
    on_{{$arch}} do
      url "{{$a.URL}}"
      sha256 "{{$a.SHA256}}"
    end
{{- end}}
  end
{{- end}}

  def install
    libexec.install Dir["*"]
    bin.install_symlink libexec/"skiff"
  end

  test do
    assert_match "skiff version #{version}", shell_output("#{bin}/skiff --version")
  end
end
`))

// scoop is the Scoop manifest; its shim runs skiff.exe where it was
// unpacked, beside docker-compose.exe.
type scoop struct {
	Version      string                    `json:"version"`
	Description  string                    `json:"description"`
	Homepage     string                    `json:"homepage"`
	Architecture map[string]scoopArchitect `json:"architecture"`
	Bin          string                    `json:"bin"`
}

type scoopArchitect struct {
	URL        string `json:"url"`
	Hash       string `json:"hash"`
	ExtractDir string `json:"extract_dir"`
}

// brewOS and brewArch are Homebrew's names for an archive's OS and
// architecture (its on_macos/on_linux and on_arm/on_intel blocks); scoopArch
// is Scoop's for windows.
var (
	brewOS    = map[string]string{"darwin": "macos", "linux": "linux"}
	brewArch  = map[string]string{"arm64": "arm", "amd64": "intel"}
	scoopArch = map[string]string{"amd64": "64bit", "arm64": "arm64"}
)

// writeManifests writes skiff.rb and skiff.json in out from its
// SHA256SUMS: each archive of this version there, by its URL below base.
func writeManifests(out, version, base string) error {
	if err := checkVersion(version); err != nil {
		return err
	}
	if err := checkBase(base); err != nil {
		return err
	}
	sums, err := readSums(filepath.Join(out, sumsFile))
	if err != nil {
		return err
	}
	brew := map[string]map[string]asset{}
	sc := scoop{Version: version, Description: description, Homepage: homepage, Architecture: map[string]scoopArchitect{}, Bin: "skiff.exe"}
	for _, p := range platforms {
		name := archiveName(version, p)
		sum, ok := sums[name]
		if !ok {
			continue
		}
		goos, goarch, _ := strings.Cut(p, "-")
		a := asset{URL: strings.TrimSuffix(base, "/") + "/" + name, SHA256: sum,
			Folder: strings.TrimSuffix(strings.TrimSuffix(name, ".zip"), ".tar.gz")}
		if goos == "windows" {
			sc.Architecture[scoopArch[goarch]] = scoopArchitect{URL: a.URL, Hash: a.SHA256, ExtractDir: a.Folder}
			continue
		}
		if brew[brewOS[goos]] == nil {
			brew[brewOS[goos]] = map[string]asset{}
		}
		brew[brewOS[goos]][brewArch[goarch]] = a
	}
	if len(brew) == 0 && len(sc.Architecture) == 0 {
		return fmt.Errorf("%s lists no archive of version %s; run make dist first", filepath.Join(out, sumsFile), version)
	}
	var rb bytes.Buffer
	if err := formula.Execute(&rb, map[string]any{"Desc": description, "Homepage": homepage, "Version": version, "Brew": brew}); err != nil {
		return fmt.Errorf("write the formula: %w", err)
	}
	js, err := json.MarshalIndent(sc, "", "    ")
	if err != nil {
		return fmt.Errorf("write the scoop manifest: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(out, "skiff.rb"), rb.Bytes()); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(out, "skiff.json"), append(js, '\n'))
}

// checkBase refuses a base URL that is not http(s) or would need quoting
// inside the formula's Ruby strings.
func checkBase(base string) error {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.ContainsAny(base, "\"\\#{}` \n") {
		return fmt.Errorf("url %q: want the http(s) URL of the folder the archives are published in", base)
	}
	return nil
}

// readSums reads a SHA256SUMS file: "HEX  NAME" lines.
func readSums(p string) (map[string]string, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read the checksums: %w (run make dist first)", err)
	}
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if b, err := hex.DecodeString(sum); !ok || err != nil || len(b) != 32 || name == "" {
			return nil, fmt.Errorf("%s:%d: want a sha256 in hex, two spaces and a file name", p, n)
		}
		sums[strings.TrimPrefix(name, "*")] = sum
	}
	return sums, sc.Err()
}

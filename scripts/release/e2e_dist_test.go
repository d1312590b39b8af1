//go:build e2e

package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"debug/pe"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// pinnedRef stands for the guest image a release pins; nothing pulls it
// here.
const pinnedRef = "registry.example/skiff/vmimage@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// TestMakeDist runs make dist, as a release does, into a temporary
// folder and checks what a user downloads: the archives for linux and
// windows, their files, that each binary is for the archive's OS and
// architecture and carries the version, SHA256SUMS, and the sums in the
// Homebrew formula and the Scoop manifest.
func TestMakeDist(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cmd := exec.Command("make", "-C", root, "dist", "DIST="+out, "VMIMAGE_REF="+pinnedRef)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		t.Fatalf("make dist: %v\n%s", err, log.String())
	}
	if runtime.GOOS == "linux" && !strings.Contains(log.String(), "make dist: no darwin archives here") {
		t.Errorf("make dist on linux did not say why there are no darwin archives:\n%s", log.String())
	}
	version := gitDescribe(t, root)

	sums, err := readSums(filepath.Join(out, sumsFile))
	if err != nil {
		t.Fatal(err)
	}
	platforms := []string{"linux-amd64", "linux-arm64", "windows-amd64", "windows-arm64"}
	var names []string
	for _, p := range platforms {
		names = append(names, archiveName(version, p))
	}
	if got := slices.Sorted(maps.Keys(sums)); !slices.Equal(got, slices.Sorted(slices.Values(names))) {
		t.Fatalf("SHA256SUMS lists %q, want %q", got, names)
	}
	for _, p := range platforms {
		t.Run(p, func(t *testing.T) {
			name := archiveName(version, p)
			data, err := os.ReadFile(filepath.Join(out, name))
			if err != nil {
				t.Fatal(err)
			}
			if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != sums[name] {
				t.Errorf("%s: sha256 %x, SHA256SUMS says %s", name, sum, sums[name])
			}
			goos, goarch, _ := strings.Cut(p, "-")
			top := "skiff-" + version + "-" + p + "/"
			files := unpack(t, name, data)
			for n := range files {
				if !strings.HasPrefix(n, top) {
					t.Errorf("%s is outside %s", n, top)
				}
			}
			checkFiles(t, files, top, goos, goarch, version)
		})
	}
	checkManifests(t, out, version, sums)
}

func gitDescribe(t *testing.T, root string) string {
	t.Helper()
	cmd := exec.Command("git", "describe", "--tags", "--always", "--dirty")
	cmd.Dir = root
	v, err := cmd.Output()
	if err != nil {
		t.Fatalf("git describe: %v", err)
	}
	return strings.TrimSpace(string(v))
}

// file is an archive member: its mode and contents (nil for a folder).
type file struct {
	mode os.FileMode
	data []byte
}

func unpack(t *testing.T, name string, data []byte) map[string]file {
	t.Helper()
	files := map[string]file{}
	if strings.HasSuffix(name, ".zip") {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			var b []byte
			if !f.Mode().IsDir() {
				rc, err := f.Open()
				if err != nil {
					t.Fatal(err)
				}
				b, err = io.ReadAll(rc)
				rc.Close()
				if err != nil {
					t.Fatal(err)
				}
			}
			files[f.Name] = file{f.Mode(), b}
		}
		return files
	}
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeDir {
			b = nil
		}
		files[hdr.Name] = file{hdr.FileInfo().Mode(), b}
	}
	return files
}

// checkFiles checks an archive's members against what its platform
// ships: the list of files, and each executable's OS, architecture and
// build.
func checkFiles(t *testing.T, files map[string]file, top, goos, goarch, version string) {
	t.Helper()
	exe := map[string]bool{"skiff": true, "docker-compose": true}
	want := []string{top}
	if goos == "windows" {
		exe = map[string]bool{"skiff.exe": true, "docker-compose.exe": true}
	} else {
		exe["skiff-agent"] = true
		img := "vmimage/" + goarch + "/"
		want = append(want, top+"images/", top+"images/busybox-"+goarch+".tar", top+"vmimage/", top+img, top+img+"manifest.json")
		for _, f := range guestImageFiles(t, files[top+img+"manifest.json"].data) {
			want = append(want, top+img+f.File)
			if sum := sha256.Sum256(files[top+img+f.File].data); hex.EncodeToString(sum[:]) != f.SHA256 {
				t.Errorf("%s: sha256 %x, its manifest says %s", img+f.File, sum, f.SHA256)
			}
		}
	}
	for e := range exe {
		want = append(want, top+e)
	}
	if got := slices.Sorted(maps.Keys(files)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("files %q, want %q", got, slices.Sorted(slices.Values(want)))
	}
	for e := range exe {
		f, ok := files[top+e]
		if !ok {
			continue
		}
		if f.mode.Perm() != 0o755 {
			t.Errorf("%s: mode %v, want executable", e, f.mode)
		}
		checkBinary(t, e, f.data, goos, goarch)
		bi, err := buildinfo.Read(bytes.NewReader(f.data))
		if err != nil {
			t.Errorf("%s: %v", e, err)
			continue
		}
		settings := map[string]string{}
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
		if settings["GOOS"] != goos || settings["GOARCH"] != goarch || settings["-trimpath"] != "true" {
			t.Errorf("%s: built for %s/%s trimpath=%s, want %s/%s trimmed", e, settings["GOOS"], settings["GOARCH"], settings["-trimpath"], goos, goarch)
		}
		// -trimpath keeps -ldflags out of the build info, so the values
		// they set are looked for in the binary's data.
		if versionVar[strings.TrimSuffix(e, ".exe")] && !bytes.Contains(f.data, []byte(version)) {
			t.Errorf("%s does not hold its version %s", e, version)
		}
		if (e == "skiff" || e == "skiff.exe") && !bytes.Contains(f.data, []byte(pinnedRef)) {
			t.Errorf("%s does not pin the guest image %s", e, pinnedRef)
		}
	}
	// The linux skiff says its version as a user sees it: natively, or
	// under qemu-user for the other architecture.
	if goos == runtime.GOOS {
		bin := filepath.Join(t.TempDir(), "skiff")
		if err := os.WriteFile(bin, files[top+"skiff"].data, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "--version")
		if goarch != runtime.GOARCH {
			q, err := exec.LookPath(qemuUser[goarch])
			if err != nil {
				t.Fatalf("%v: install qemu-user-static (scripts/install-deps) to run the %s skiff", err, goarch)
			}
			cmd = exec.Command(q, bin, "--version")
		}
		got, err := cmd.Output()
		if err != nil || string(got) != "skiff version "+version+"\n" {
			t.Errorf("skiff --version: %q, %v; want skiff version %s", got, err, version)
		}
	}
}

// checkBinary checks the executable's header: ELF or PE, for goarch,
// and (the agent) static.
func checkBinary(t *testing.T, name string, data []byte, goos, goarch string) {
	t.Helper()
	if goos == "windows" {
		f, err := pe.NewFile(bytes.NewReader(data))
		if err != nil {
			t.Errorf("%s: not a PE executable: %v", name, err)
			return
		}
		want := map[string]uint16{"amd64": pe.IMAGE_FILE_MACHINE_AMD64, "arm64": pe.IMAGE_FILE_MACHINE_ARM64}[goarch]
		if f.Machine != want {
			t.Errorf("%s: PE machine %#x, want %#x (%s)", name, f.Machine, want, goarch)
		}
		return
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Errorf("%s: not an ELF executable: %v", name, err)
		return
	}
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[goarch]
	if f.Machine != want || f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		t.Errorf("%s: ELF %s %s, want an executable for %s", name, f.Type, f.Machine, want)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s is dynamically linked; a release runs with no libraries beside it", name)
		}
	}
}

// versionVar names skiff's own binaries, which the build gives the
// version.
var versionVar = map[string]bool{"skiff": true, "skiff-agent": true}

// qemuUser names the user-mode emulator that runs a linux binary of each
// architecture on another (Debian's qemu-user-static).
var qemuUser = map[string]string{"amd64": "qemu-x86_64-static", "arm64": "qemu-aarch64-static"}

type guestFile struct{ File, SHA256 string }

// guestImageFiles are the files a guest image's manifest.json names.
func guestImageFiles(t *testing.T, manifest []byte) []guestFile {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(manifest, &m); err != nil {
		t.Fatalf("the guest image's manifest.json: %v", err)
	}
	var files []guestFile
	for _, raw := range m {
		var f guestFile
		if json.Unmarshal(raw, &f) == nil && f.File != "" {
			if path.Base(f.File) != f.File {
				t.Fatalf("the guest image's manifest names %q", f.File)
			}
			files = append(files, f)
		}
	}
	if len(files) < 2 {
		t.Fatalf("the guest image's manifest names %d files, want a kernel and an initramfs", len(files))
	}
	return files
}

func checkManifests(t *testing.T, out, version string, sums map[string]string) {
	t.Helper()
	rb, err := os.ReadFile(filepath.Join(out, "skiff.rb"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"linux-amd64", "linux-arm64"} {
		name := archiveName(version, p)
		if !strings.Contains(string(rb), "/"+name+"\"\n      sha256 \""+sums[name]+"\"") {
			t.Errorf("skiff.rb has no url and sha256 of %s:\n%s", name, rb)
		}
	}
	if !strings.Contains(string(rb), `version "`+version+`"`) {
		t.Errorf("skiff.rb does not say version %s", version)
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
		name := archiveName(version, p)
		if a := sc.Architecture[arch]; a.Hash != sums[name] || path.Base(a.URL) != name {
			t.Errorf("skiff.json %s: %+v, want %s with %s", arch, a, name, sums[name])
		}
	}
	if sc.Version != version {
		t.Errorf("skiff.json version %q, want %q", sc.Version, version)
	}
}

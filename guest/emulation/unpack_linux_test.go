package emulation

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func pack(t *testing.T, src, id string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(src, name+PackedSuffix), enc.EncodeAll([]byte(content), nil), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(src, "ID"), []byte(id+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestUnpack(t *testing.T) {
	root := t.TempDir()
	src, cache := filepath.Join(root, "src"), filepath.Join(root, "cache")
	const id1, id2 = "0123456789abcdef", "fedcba9876543210"
	pack(t, src, id1, map[string]string{"qemu-aarch64-static": "aarch64", "qemu-arm-static": "arm"})

	dir, err := Unpack(src, cache)
	if err != nil || dir != filepath.Join(cache, id1) {
		t.Fatalf("Unpack = %q, %v", dir, err)
	}
	for name, want := range map[string]string{"qemu-aarch64-static": "aarch64", "qemu-arm-static": "arm"} {
		p := filepath.Join(dir, name)
		data, err := os.ReadFile(p)
		if err != nil || string(data) != want {
			t.Errorf("%s = %q, %v", name, data, err)
		}
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o755 {
			t.Errorf("%s mode: %v %v", name, st.Mode(), err)
		}
		if findQEMU([]string{dir}, Arch{QEMU: name[len("qemu-") : len(name)-len("-static")]}) != p {
			t.Errorf("findQEMU does not find %s", p)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(src, "*"+PackedSuffix)); len(left) != 0 {
		t.Errorf("packed copies left in memory: %v", left)
	}

	// The next boot has them again in memory: the disk's set is used as it
	// is (a broken packed file shows it is not read).
	if err := os.WriteFile(filepath.Join(src, "qemu-arm-static"+PackedSuffix), []byte("not zstd"), 0o644); err != nil {
		t.Fatal(err)
	}
	if dir, err := Unpack(src, cache); err != nil || dir != filepath.Join(cache, id1) {
		t.Fatalf("second Unpack = %q, %v", dir, err)
	}

	// A new image replaces the set; a broken one leaves no set and no
	// temporary folder behind.
	pack(t, src, id2, map[string]string{"qemu-arm-static": "arm2"})
	if dir, err := Unpack(src, cache); err != nil || dir != filepath.Join(cache, id2) {
		t.Fatalf("Unpack of a new set = %q, %v", dir, err)
	}
	if ents, _ := os.ReadDir(cache); len(ents) != 1 || ents[0].Name() != id2 {
		t.Errorf("cache after a new set: %v", ents)
	}
	pack(t, src, id1, map[string]string{"qemu-arm-static": "arm"})
	if err := os.WriteFile(filepath.Join(src, "qemu-arm-static"+PackedSuffix), []byte("not zstd"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Unpack(src, cache); err == nil {
		t.Fatal("Unpack of a broken packed file succeeded")
	}
	if ents, _ := os.ReadDir(cache); len(ents) != 1 || ents[0].Name() != id2 {
		t.Errorf("cache after a broken set: %v", ents)
	}
}

func TestUnpackBadInput(t *testing.T) {
	root := t.TempDir()
	if dir, err := Unpack(filepath.Join(root, "none"), filepath.Join(root, "cache")); dir != "" || err != nil {
		t.Errorf("Unpack of nothing = %q, %v", dir, err)
	}
	src := filepath.Join(root, "src")
	for _, id := range []string{"../../etc", "short", "0123456789ABCDEF"} {
		pack(t, src, id, map[string]string{"qemu-arm-static": "arm"})
		if _, err := Unpack(src, filepath.Join(root, "cache")); err == nil {
			t.Errorf("Unpack with ID %q succeeded", id)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "cache")); err == nil {
		t.Error("a bad ID made the cache folder")
	}
}

// Setup with packed interpreters registers the unpacked ones.
func TestSetupUnpacksFirst(t *testing.T) {
	binfmt, src, cache := t.TempDir(), t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(binfmt, "register"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	foreign := "qemu-aarch64-static"
	if runtime.GOARCH == "arm64" {
		foreign = "qemu-x86_64-static"
	}
	id := "0123456789abcdef"
	pack(t, src, id, map[string]string{foreign: "#!"})
	s, err := Setup(Options{BinfmtDir: binfmt, QEMUDirs: []string{t.TempDir()}, Packed: src, UnpackTo: cache})
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(cache, id, foreign)
	for _, e := range s.Emulators() {
		if e.Kind == KindQEMU && e.Interpreter == want {
			return
		}
	}
	t.Errorf("emulators %+v, want one with %s", s.Emulators(), want)
}

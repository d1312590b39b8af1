package emulation

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Setup against a folder standing in for binfmt_misc: its register
// file receives the last registration.
func TestSetupRegistersFoundInterpreters(t *testing.T) {
	binfmt, qemu := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(binfmt, "register"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	foreign := "aarch64"
	if runtime.GOARCH == "arm64" {
		foreign = "x86_64"
	}
	interp := filepath.Join(qemu, "qemu-"+foreign+"-static")
	if err := os.WriteFile(interp, []byte("#!"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Not executable: not an interpreter.
	if err := os.WriteFile(filepath.Join(qemu, "qemu-s390x-static"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Setup(Options{BinfmtDir: binfmt, QEMUDirs: []string{filepath.Join(qemu, "missing"), qemu}})
	if err != nil {
		t.Fatal(err)
	}
	es := s.Emulators()
	if es[0].Arch != runtime.GOARCH || es[0].Kind != KindNative {
		t.Errorf("first emulator %+v, want the machine's own", es[0])
	}
	var found bool
	for _, e := range es {
		if e.Kind == KindQEMU {
			found = e.Interpreter == interp && e.Entry == "skiff-qemu-"+foreign
		}
	}
	if !found || s.Runs("s390x") {
		t.Errorf("emulators %+v", es)
	}
	reg, _ := os.ReadFile(filepath.Join(binfmt, "register"))
	if !strings.HasPrefix(string(reg), ":skiff-qemu-"+foreign+":M::") || !strings.HasSuffix(string(reg), ":"+interp+":POCF") {
		t.Errorf("registered %q", reg)
	}
}

func TestSetupKeepsTheHostsEntry(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the entry below is for an amd64 machine")
	}
	binfmt, qemu := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(binfmt, "register"), nil, 0o600)
	os.WriteFile(filepath.Join(binfmt, "qemu-aarch64"), []byte("enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POCF\noffset 0\nmagic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n"), 0o644)
	os.WriteFile(filepath.Join(qemu, "qemu-aarch64-static"), nil, 0o755)
	s, err := Setup(Options{BinfmtDir: binfmt, QEMUDirs: []string{qemu}})
	if err != nil {
		t.Fatal(err)
	}
	if reg, _ := os.ReadFile(filepath.Join(binfmt, "register")); len(reg) != 0 {
		t.Errorf("registered %q over the host's entry", reg)
	}
	es := s.Emulators()
	if e := es[len(es)-1]; e.Arch != "arm64" || e.Entry != "qemu-aarch64" {
		t.Errorf("emulators %+v", es)
	}
}

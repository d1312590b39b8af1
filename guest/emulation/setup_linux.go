package emulation

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// DefaultBinfmtDir is where binfmt_misc is mounted.
const DefaultBinfmtDir = "/proc/sys/fs/binfmt_misc"

// RosettaDir is where the machine mounts the Rosetta share.
const RosettaDir = "/run/rosetta"

// Options say where the emulators are.
type Options struct {
	// BinfmtDir is binfmt_misc's mount point; empty is DefaultBinfmtDir,
	// mounted there when it is not yet.
	BinfmtDir string
	// QEMUDirs are the folders searched for qemu-<target>-static.
	QEMUDirs []string
	// Packed, when set, holds packed interpreters (PackedDir) that
	// Setup first unpacks to a folder of UnpackTo (Unpack), searched
	// before QEMUDirs.
	Packed, UnpackTo string
	// RosettaTag is the virtiofs tag of the Rosetta share the machine's
	// driver offers; empty for none.
	RosettaTag string
	// RosettaMissing reports a Mac that could share Rosetta but has not
	// installed it.
	RosettaMissing bool
	// MissingHint ends the error for an architecture nothing runs
	// (HostHint); empty says only which emulator it needs.
	MissingHint string
	Log         *slog.Logger
}

// Native is the Set of a machine that emulates nothing.
func Native() *Set {
	s := &Set{}
	for _, a := range nativeArches() {
		s.emulators = append(s.emulators, Emulator{Arch: a, Kind: KindNative})
	}
	return s
}

// Setup registers, with binfmt_misc, an emulator for every foreign
// architecture it finds one for, and returns what the machine runs. An
// emulator that fails is logged and left out; Setup itself fails only
// when binfmt_misc cannot be reached at all, and then the Set still
// says what runs natively.
func Setup(o Options) (*Set, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	s := Native()
	s.hint = o.MissingHint
	qemuDirs := o.QEMUDirs
	if o.Packed != "" {
		if dir, err := Unpack(o.Packed, o.UnpackTo); err != nil {
			o.Log.Error("unpack the emulators", "err", err)
		} else if dir != "" {
			qemuDirs = append([]string{dir}, qemuDirs...)
		}
	}
	dir := o.BinfmtDir
	if dir == "" {
		dir = DefaultBinfmtDir
		if err := mountBinfmt(dir); err != nil {
			return s, err
		}
	}
	existing := readEntries(dir)
	if o.RosettaTag != "" {
		if e, err := setupRosetta(dir, o.RosettaTag, existing); err != nil {
			s.notes = append(s.notes, fmt.Sprintf("Rosetta: %v; amd64 images run under QEMU", err))
		} else {
			s.emulators = append(s.emulators, e)
		}
	}
	if o.RosettaMissing {
		s.notes = append(s.notes, "Rosetta is not installed on this Mac, so amd64 images run under QEMU, slowly: "+RosettaHint)
	}
	for _, a := range arches {
		if s.Runs(a.Name) {
			continue
		}
		interp := findQEMU(qemuDirs, a)
		if interp == "" {
			continue
		}
		e, err := registerQEMU(dir, a, interp, existing)
		if err != nil {
			o.Log.Warn("register emulator", "arch", a.Name, "interpreter", interp, "err", err)
			s.notes = append(s.notes, fmt.Sprintf("%s: %v", a.Name, err))
			continue
		}
		s.emulators = append(s.emulators, e)
	}
	return s, nil
}

// nativeArches are the image architectures this kernel runs itself:
// its own, and on amd64 i386 when the kernel has IA32 emulation (whose
// sysctl is abi.vsyscall32).
func nativeArches() []string {
	a := []string{runtime.GOARCH}
	if runtime.GOARCH == "amd64" {
		if _, err := os.Stat("/proc/sys/abi/vsyscall32"); err == nil {
			a = append(a, "386")
		}
	}
	return a
}

// mountBinfmt mounts binfmt_misc at dir unless it is mounted.
func mountBinfmt(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "register")); err == nil {
		return nil
	}
	if err := unix.Mount("binfmt_misc", dir, "binfmt_misc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount binfmt_misc on %s (the kernel needs CONFIG_BINFMT_MISC): %w", dir, err)
	}
	return nil
}

// findQEMU is the first static qemu-user interpreter for a in dirs.
func findQEMU(dirs []string, a Arch) string {
	for _, d := range dirs {
		p := filepath.Join(d, "qemu-"+a.QEMU+"-static")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// entry is a binfmt_misc entry as its file describes it.
type entry struct {
	name        string
	enabled     bool
	interpreter string
	flags       string
	magic       []byte
}

// readEntries reads every entry registered in dir.
func readEntries(dir string) map[string]entry {
	m := map[string]entry{}
	des, err := os.ReadDir(dir)
	if err != nil {
		return m
	}
	for _, de := range des {
		if de.Name() == "register" || de.Name() == "status" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			continue
		}
		m[de.Name()] = parseEntry(de.Name(), data)
	}
	return m
}

func parseEntry(name string, data []byte) entry {
	e := entry{name: name}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "enabled":
			e.enabled = true
		case strings.HasPrefix(line, "interpreter "):
			e.interpreter = strings.TrimPrefix(line, "interpreter ")
		case strings.HasPrefix(line, "flags: "):
			e.flags = strings.TrimPrefix(line, "flags: ")
		case strings.HasPrefix(line, "magic "):
			e.magic, _ = hex.DecodeString(strings.TrimPrefix(line, "magic "))
		}
	}
	return e
}

// handles reports whether e, enabled with the F flag, already runs a's
// programs in any container (an emulator the host registered).
func (e entry) handles(a Arch) bool {
	if !e.enabled || !strings.Contains(e.flags, "F") || len(e.magic) < 20 {
		return false
	}
	want, _ := a.magic()
	return bytes.Equal(e.magic[:7], want[:7]) && bytes.Equal(e.magic[18:20], want[18:20])
}

// registerQEMU registers interp for a's programs, unless an entry with
// the F flag already does (one of the host's, or skiff's own from an
// earlier start with the same interpreter).
func registerQEMU(dir string, a Arch, interp string, existing map[string]entry) (Emulator, error) {
	r := qemuRegistration(a, interp)
	if e, ok := existing[r.Name]; ok {
		if e.handles(a) && e.interpreter == interp {
			return Emulator{Arch: a.Name, Kind: KindQEMU, Interpreter: interp, Entry: e.name}, nil
		}
		if err := os.WriteFile(filepath.Join(dir, r.Name), []byte("-1"), 0); err != nil {
			return Emulator{}, fmt.Errorf("remove the stale binfmt_misc entry %s: %w", r.Name, err)
		}
	}
	for _, e := range existing {
		if e.name != r.Name && e.handles(a) {
			return Emulator{Arch: a.Name, Kind: KindQEMU, Interpreter: e.interpreter, Entry: e.name}, nil
		}
	}
	if err := register(dir, r); err != nil {
		return Emulator{}, err
	}
	return Emulator{Arch: a.Name, Kind: KindQEMU, Interpreter: interp, Entry: r.Name}, nil
}

func register(dir string, r Registration) error {
	if err := os.WriteFile(filepath.Join(dir, "register"), []byte(r.String()), 0); err != nil {
		return fmt.Errorf("register %s with binfmt_misc: %w", r.Interpreter, err)
	}
	return nil
}

// setupRosetta mounts the Rosetta share tagged tag and registers its
// handler for amd64 programs.
func setupRosetta(dir, tag string, existing map[string]entry) (Emulator, error) {
	if err := os.MkdirAll(RosettaDir, 0o755); err != nil {
		return Emulator{}, err
	}
	if err := unix.Mount(tag, RosettaDir, "virtiofs", unix.MS_RDONLY|unix.MS_NODEV|unix.MS_NOSUID, ""); err != nil && !errors.Is(err, unix.EBUSY) {
		return Emulator{}, fmt.Errorf("mount the Rosetta share %q on %s: %w", tag, RosettaDir, err)
	}
	r := RosettaRegistration(filepath.Join(RosettaDir, "rosetta"))
	if _, err := os.Stat(r.Interpreter); err != nil {
		return Emulator{}, fmt.Errorf("the Rosetta share has no rosetta: %w", err)
	}
	if _, ok := existing[r.Name]; !ok {
		if err := register(dir, r); err != nil {
			return Emulator{}, err
		}
	}
	return Emulator{Arch: "amd64", Kind: KindRosetta, Interpreter: r.Interpreter, Entry: r.Name}, nil
}

package emulation

import (
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
)

// Kinds of Emulator.
const (
	KindNative  = "native"
	KindQEMU    = "qemu"
	KindRosetta = "rosetta"
)

// Emulator is how the machine runs one image architecture.
type Emulator struct {
	// Arch is the image architecture (GOARCH's name).
	Arch string
	// Kind is KindNative, KindQEMU or KindRosetta.
	Kind string
	// Interpreter is the emulator's program; empty when native.
	Interpreter string
	// Entry is the emulator's binfmt_misc entry; empty when native.
	Entry string
}

// Set is what the machine runs. It does not change once set up.
type Set struct {
	// ready is closed once the fields below are set (Later); nil when
	// they were from the start.
	ready     chan struct{}
	emulators []Emulator
	// hint says how to get a missing emulator.
	hint string
	// notes are said once at setup (Rosetta missing).
	notes []string
}

// Later returns the Set setup makes, run in the background: a machine's
// agent opens its state meanwhile, and the first container that needs
// to know waits for it. Every method of the Set waits.
func Later(setup func() *Set) *Set {
	s := &Set{ready: make(chan struct{})}
	go func() {
		done := setup()
		s.emulators, s.hint, s.notes = done.emulators, done.hint, done.notes
		close(s.ready)
	}()
	return s
}

func (s *Set) wait() {
	if s.ready != nil {
		<-s.ready
	}
}

// Emulators are the architectures the machine runs, its own first.
func (s *Set) Emulators() []Emulator {
	s.wait()
	return slices.Clone(s.emulators)
}

// Notes are what setup found worth telling the user (Rosetta not
// installed, an emulator that failed to register).
func (s *Set) Notes() []string {
	s.wait()
	return slices.Clone(s.notes)
}

// Runs reports whether programs of architecture arch run, natively or
// emulated.
func (s *Set) Runs(arch string) bool {
	s.wait()
	return slices.ContainsFunc(s.emulators, func(e Emulator) bool { return e.Arch == arch })
}

// Native reports whether arch runs without emulation.
func (s *Set) Native(arch string) bool {
	s.wait()
	return slices.ContainsFunc(s.emulators, func(e Emulator) bool { return e.Arch == arch && e.Kind == KindNative })
}

// Check is nil when images of arch run, else a failed-precondition
// error of one line that says what to install. An empty arch (an image
// that does not say) is taken to be the machine's.
func (s *Set) Check(arch string) error {
	if arch == "" || s.Runs(arch) {
		return nil
	}
	what := "an emulator"
	if a, ok := archByName(arch); ok {
		what = "qemu-" + a.QEMU + "-static"
	}
	return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("no emulator for linux/%s images in this machine (it runs %s): %s needs %s", arch, strings.Join(s.archNames(), ", "), arch, what+s.hint))
}

func (s *Set) archNames() []string {
	var names []string
	for _, e := range s.emulators {
		names = append(names, e.Arch)
	}
	return names
}

// Hints for Options.MissingHint.
const (
	// HostHint is for the native driver, whose emulators are the host's.
	HostHint = "; install Debian's qemu-user-static package (apt-get install qemu-user-static) and restart skiff's agent"
	// MachineHint is for a VM, whose emulators come with its image.
	MachineHint = " (from Debian's qemu-user-static), which skiff's machine image does not ship"
	// RosettaHint is for amd64 on Apple silicon without Rosetta.
	RosettaHint = "install Rosetta with: softwareupdate --install-rosetta --agree-to-license, then skiff machine stop and start"
)

package emulation

import (
	"fmt"
	"strings"
)

// An Arch is an image architecture the machine may emulate, with what
// binfmt_misc needs to recognise its programs.
type Arch struct {
	// Name is the image architecture, as GOARCH and OCI name it.
	Name string
	// QEMU names qemu-user's target: qemu-<QEMU>-static.
	QEMU string
	// Class is the ELF class (1 for 32-bit, 2 for 64-bit), BigEndian
	// its data encoding, Machine its e_machine.
	Class     byte
	BigEndian bool
	Machine   uint16
}

// arches are the architectures images are published for that
// qemu-user-static emulates.
var arches = []Arch{
	{Name: "amd64", QEMU: "x86_64", Class: 2, Machine: 62},
	{Name: "arm64", QEMU: "aarch64", Class: 2, Machine: 183},
	{Name: "arm", QEMU: "arm", Class: 1, Machine: 40},
	{Name: "386", QEMU: "i386", Class: 1, Machine: 3},
	{Name: "ppc64le", QEMU: "ppc64le", Class: 2, Machine: 21},
	{Name: "riscv64", QEMU: "riscv64", Class: 2, Machine: 243},
	{Name: "s390x", QEMU: "s390x", Class: 2, BigEndian: true, Machine: 22},
}

// archByName is the Arch of an image architecture.
func archByName(name string) (Arch, bool) {
	for _, a := range arches {
		if a.Name == name {
			return a, true
		}
	}
	return Arch{}, false
}

// Flags are the binfmt_misc flags skiff registers emulators with: F
// opens the interpreter at registration, so it runs in any mount
// namespace; P hands it the program's own argv[0]; C (which implies O)
// runs set-user-ID programs with their owner's credentials, as
// natively.
const Flags = "POCF"

// magic and mask are the bytes binfmt_misc compares with a program's
// first 20: the ELF identification (any OS ABI), an executable or
// shared object (ET_EXEC or ET_DYN, which differ in the lowest bit) and
// the machine.
func (a Arch) magic() (magic, mask []byte) {
	data := byte(1)
	if a.BigEndian {
		data = 2
	}
	magic = []byte{0x7f, 'E', 'L', 'F', a.Class, data, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	mask = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	if a.BigEndian {
		magic = append(magic, 0, 2, byte(a.Machine>>8), byte(a.Machine))
		mask = append(mask, 0xff, 0xfe, 0xff, 0xff)
	} else {
		magic = append(magic, 2, 0, byte(a.Machine), byte(a.Machine>>8))
		mask = append(mask, 0xfe, 0xff, 0xff, 0xff)
	}
	return magic, mask
}

// Registration is one line written to binfmt_misc's register file.
type Registration struct {
	Name        string
	Magic, Mask []byte
	Interpreter string
	Flags       string
}

// String is the register file's format,
// :name:M:offset:magic:mask:interpreter:flags, with every byte of the
// magic and mask escaped as \xNN (so that none is the separator).
func (r Registration) String() string {
	return fmt.Sprintf(":%s:M::%s:%s:%s:%s", r.Name, escape(r.Magic), escape(r.Mask), r.Interpreter, r.Flags)
}

func escape(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		fmt.Fprintf(&sb, "\\x%02x", c)
	}
	return sb.String()
}

// qemuRegistration registers interpreter for a's programs.
func qemuRegistration(a Arch, interpreter string) Registration {
	magic, mask := a.magic()
	return Registration{Name: "skiff-qemu-" + a.QEMU, Magic: magic, Mask: mask, Interpreter: interpreter, Flags: Flags}
}

// RosettaRegistration is Rosetta's entry as Apple documents it for
// Linux guests (update-binfmts --install rosetta ... --credentials yes
// --preserve no --fix-binary yes): x86-64 executables and shared
// objects, matched loosely on the ELF header's ABI fields.
func RosettaRegistration(interpreter string) Registration {
	return Registration{
		Name:        "rosetta",
		Magic:       []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00"),
		Mask:        []byte("\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff"),
		Interpreter: interpreter,
		Flags:       "CF",
	}
}

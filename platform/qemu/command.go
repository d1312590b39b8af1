package qemu

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/skiffrun/skiff/guest/api/wire"
	"github.com/skiffrun/skiff/platform"
)

// Name is the name the driver registers under.
const Name = "qemu"

// Defaults for what the spec leaves open.
const (
	DefaultCPUs      = 2
	DefaultMemoryMiB = 2048
	// SerialPortName is the agent's virtio-serial port, as the guest sees it.
	SerialPortName = "skiff.agent"
	// firstVsockPort is where per-machine vsock ports start.
	firstVsockPort = 10000
)

// Host is what the command line depends on besides the spec: the time,
// the accelerator and what the host offers. Tests pass a fixed one.
type Host struct {
	// Now is the host's time at boot.
	Now time.Time
	// Accel is "kvm", "hvf" or "tcg".
	Accel string
	// TSCkHz is the host's TSC rate (amd64), 0 when unknown.
	TSCkHz int64
	// QEMU is the qemu-system binary for the spec's architecture.
	QEMU string
	// Virtiofsd is the virtiofsd binary, "" when there is none; shares
	// then use 9p.
	Virtiofsd string
	// VhostVsock reports whether /dev/vhost-vsock is usable.
	VhostVsock bool
	// Unprivileged reports whether skiff runs as a user other than root.
	// virtiofsd then is not used: the C one (Debian's, QEMU's bundled)
	// needs root to switch to each caller's ids, and QEMU's own 9p
	// server runs as the user, so what containers create belongs to them.
	Unprivileged bool
}

// Command is what Start runs: QEMU, and one virtiofsd per virtiofs share,
// which must be listening before QEMU starts.
type Command struct {
	QEMU      []string
	Virtiofsd [][]string
	// VsockCID is the guest's vsock CID, 0 without vsock.
	VsockCID uint32
}

// Resolve fills in what spec leaves to the driver: size, agent transport,
// share types, and the data disk's device name.
func Resolve(spec platform.MachineSpec, h Host) platform.MachineSpec {
	if spec.CPUs == 0 {
		spec.CPUs = DefaultCPUs
	}
	if spec.MemoryMiB == 0 {
		spec.MemoryMiB = DefaultMemoryMiB
	}
	if spec.Agent.IsZero() {
		if h.VhostVsock {
			spec.Agent.VsockPort = firstVsockPort + vsockCID(spec.Dir)%50000
		} else {
			spec.Agent = platform.AgentTransport{SerialPort: SerialPortName, SerialSocket: filepath.Join(spec.Dir, "agent.serial.sock")}
		}
	}
	shares := make([]platform.Share, len(spec.Shares))
	for i, sh := range spec.Shares {
		if sh.Type == "" {
			sh.Type = platform.Share9P
			if h.Virtiofsd != "" && !h.Unprivileged {
				sh.Type = platform.ShareVirtiofs
			}
		}
		shares[i] = sh
	}
	spec.Shares = shares
	if spec.Disk.Path != "" && spec.Disk.Device == "" {
		spec.Disk.Device = "vda"
	}
	return spec
}

// vsockCID derives a guest CID from the machine's directory, so machines
// of one host do not collide; CIDs 0-2 are reserved.
func vsockCID(dir string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(dir))
	return 3 + h.Sum32()%(1<<24)
}

// board holds the per-architecture pieces of the command line.
type board struct {
	machine string // -M value, without memory-backend
	cpu     string // -cpu under TCG
	bus     string // device suffix: "device" (virtio-mmio) or "pci"
	console []string
	args    string // the driver's own kernel arguments
}

func boardFor(spec platform.MachineSpec, h Host) (board, error) {
	switch spec.Arch {
	case "amd64":
		// The console is microvm's UART, as the PL011 is on arm64, not a
		// virtio console: the kernel fills each virtio-serial port's
		// receive queue with page-sized buffers, ~4 MiB of the guest's
		// memory for a console that writes a few lines, and the UART is
		// there from the kernel's first message on.
		b := board{
			machine: "microvm,acpi=on",
			bus:     "device",
			console: []string{"-serial", "chardev:con"},
			args:    "console=ttyS0 panic=-1",
		}
		if h.TSCkHz > 0 {
			// Under TCG, the guest's TSC calibration against the PIT fails
			// at random and the boot hangs; the TCG TSC runs at the host's
			// rate, so tell the kernel that rate.
			b.args += fmt.Sprintf(" tsc_early_khz=%d tsc=reliable", h.TSCkHz)
		}
		return b, nil
	case "arm64":
		return board{
			machine: "virt",
			cpu:     "cortex-a57", // -cpu max emulates pointer authentication slowly
			bus:     "pci",
			console: []string{"-serial", "chardev:con"},
			args:    "console=ttyAMA0 panic=-1",
		}, nil
	}
	return board{}, fmt.Errorf("qemu: no machine type for architecture %q", spec.Arch)
}

// tcgBufferMiB caps TCG's translation cache. QEMU's default, 1 GiB,
// fills as the guest runs new code and is never given back: ~90 MB after
// a boot and a few containers, and more the longer a machine works. The
// boot and a container's start need ~60 MiB of it: at 48 MiB `skiff run
// true` took 3x as long, TCG flushing and translating again and again;
// at 64 MiB it was as fast as with 1 GiB. 128 MiB keeps a margin over
// that and bounds the growth.
const tcgBufferMiB = 128

// Build translates a resolved, valid spec into the command lines to run.
func Build(spec platform.MachineSpec, h Host) (Command, error) {
	b, err := boardFor(spec, h)
	if err != nil {
		return Command{}, err
	}
	var cmd Command
	dev := func(name string) string { return name + "-" + b.bus }
	virtiofs := false
	for _, sh := range spec.Shares {
		virtiofs = virtiofs || sh.Type == platform.ShareVirtiofs
	}
	machine := b.machine
	if virtiofs {
		// vhost-user devices need the guest's RAM in shared memory.
		machine += ",memory-backend=mem"
	}
	accel := h.Accel
	if accel == "tcg" {
		accel += ",tb-size=" + strconv.Itoa(tcgBufferMiB)
	}
	a := []string{h.QEMU,
		"-name", "skiff-" + spec.Name,
		"-accel", accel,
		"-M", machine,
	}
	switch {
	case h.Accel == "kvm" || h.Accel == "hvf":
		a = append(a, "-cpu", "host")
	case b.cpu != "":
		a = append(a, "-cpu", b.cpu)
	}
	if b.bus == "device" {
		// microvm's virtio-mmio defaults to legacy virtio, which vhost-user
		// backends refuse and which makes virtio-serial slower.
		a = append(a, "-global", "virtio-mmio.force-legacy=false")
	}
	a = append(a,
		"-m", strconv.Itoa(spec.MemoryMiB),
		"-smp", strconv.Itoa(spec.CPUs),
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
	)
	if virtiofs {
		a = append(a, "-object", fmt.Sprintf("memory-backend-memfd,id=mem,size=%dM,share=on", spec.MemoryMiB))
	}
	kargs := []string{b.args}
	if !spec.Debug {
		kargs = append(kargs, "quiet")
	}
	// The bus the guest's devices are on.
	bus := wire.BusPCI
	if b.bus == "device" {
		bus = wire.BusMMIO
	}
	guest, err := platform.GuestArgs(spec, h.Now, bus)
	if err != nil {
		return Command{}, err
	}
	kargs = append(kargs, guest...)
	kargs = append(kargs, spec.KernelArgs...)
	a = append(a,
		"-kernel", spec.Kernel,
		"-initrd", spec.Initrd,
		"-append", strings.Join(kargs, " "),
		"-chardev", "file,id=con,path="+opt(spec.Log)+",append=on",
	)
	a = append(a, b.console...)
	a = append(a, "-qmp", "unix:"+opt(QMPSocket(spec))+",server=on,wait=off")

	if spec.Agent.VsockPort != 0 {
		cmd.VsockCID = vsockCID(spec.Dir)
		a = append(a, "-device", fmt.Sprintf("%s,guest-cid=%d", dev("vhost-vsock"), cmd.VsockCID))
	} else {
		a = append(a, "-device", dev("virtio-serial")+",id=vser0")
		a = append(a,
			"-chardev", "socket,id=agent,path="+opt(spec.Agent.SerialSocket)+",server=on,wait=off",
			"-device", "virtserialport,bus=vser0.0,chardev=agent,name="+spec.Agent.SerialPort,
		)
	}
	if spec.Disk.Path != "" {
		a = append(a,
			"-drive", "file="+opt(spec.Disk.Path)+",if=none,id=data,format=raw,discard=unmap,detect-zeroes=unmap",
			"-device", dev("virtio-blk")+",drive=data",
		)
	}
	// With free page reporting the guest tells QEMU which pages it has
	// freed and QEMU drops them: the memory a container touched goes back
	// to the host once it exits. The balloon is never inflated.
	a = append(a, "-device", dev("virtio-balloon")+",free-page-reporting=on")
	// Without an entropy source the guest's random pool is ready only
	// after the kernel has gathered jitter for it: the first read of
	// crypto/rand (a container's ID) waited about a second after each
	// boot. virtio-rng feeds it from the host's random source (QEMU's
	// built-in backend).
	a = append(a, "-device", dev("virtio-rng"))
	for i, sh := range spec.Shares {
		id := "fs" + strconv.Itoa(i)
		switch sh.Type {
		case platform.ShareVirtiofs:
			sock := filepath.Join(spec.Dir, id+".sock")
			a = append(a,
				"-chardev", "socket,id="+id+",path="+opt(sock),
				"-device", dev("vhost-user-fs")+",queue-size=1024,chardev="+id+",tag="+sh.Tag,
			)
			// cache=none: a file written on either side is seen on the
			// other at once, as bind mounts of a project folder need.
			cmd.Virtiofsd = append(cmd.Virtiofsd, []string{h.Virtiofsd,
				"--socket-path=" + sock, "-o", "source=" + fuseOpt(sh.HostPath), "-o", "cache=none", "-o", "sandbox=namespace",
			})
		case platform.Share9P:
			// security_model=none: QEMU makes files as the user it runs
			// as, with the modes asked for, and symlinks as symlinks;
			// run by a user, that makes whatever a container creates the
			// user's. (mapped-xattr would keep the guest's owners in
			// xattrs, but turns symlinks into plain files on the host.)
			fsdev := "local,id=" + id + ",path=" + opt(sh.HostPath) + ",security_model=none"
			if sh.ReadOnly {
				fsdev += ",readonly=on"
			}
			a = append(a, "-fsdev", fsdev, "-device", dev("virtio-9p")+",fsdev="+id+",mount_tag="+sh.Tag)
		default:
			return Command{}, fmt.Errorf("qemu: share %s: QEMU cannot serve %s shares", sh.HostPath, sh.Type)
		}
	}
	switch spec.Network.Mode {
	case platform.NetworkNAT:
		pfx, err := netip.ParsePrefix(spec.Network.Address)
		if err != nil {
			return Command{}, fmt.Errorf("qemu: network address: %w", err)
		}
		a = append(a,
			"-netdev", fmt.Sprintf("user,id=n0,net=%s,host=%s,dns=%s,dhcpstart=%s", pfx.Masked(), spec.Network.Gateway, spec.Network.DNS, pfx.Addr()),
			"-device", dev("virtio-net")+",netdev=n0",
		)
	case platform.NetworkUser:
		// The host daemon's stack listens on the stream socket before
		// QEMU starts; QEMU 7.2's stream netdev frames each packet after
		// its length, as the stack's qemu protocol reads it.
		a = append(a,
			"-netdev", "stream,id=n0,server=off,addr.type=unix,addr.path="+opt(spec.Network.Link.Stream),
			"-device", dev("virtio-net")+",netdev=n0",
		)
	case "", platform.NetworkNone:
	}
	cmd.QEMU = a
	return cmd, nil
}

// opt escapes a value for QEMU's comma-separated options, where a comma
// is written twice.
func opt(s string) string { return strings.ReplaceAll(s, ",", ",,") }

// fuseOpt escapes a value for virtiofsd's -o list, where a comma is
// written with a backslash.
func fuseOpt(s string) string {
	return strings.NewReplacer(`\`, `\\`, ",", `\,`).Replace(s)
}

// QMPSocket is the machine's QMP control socket.
func QMPSocket(spec platform.MachineSpec) string { return filepath.Join(spec.Dir, "qmp.sock") }

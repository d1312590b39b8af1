package vz

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/skiffrun/skiff/guest/api/wire"
	"github.com/skiffrun/skiff/platform"
)

// Name is the name the driver registers under.
const Name = "vz"

// Defaults and fixed choices of the driver.
const (
	DefaultCPUs      = 2
	DefaultMemoryMiB = 2048
	// AgentVsockPort is the host's vsock port the agent dials. Each vz VM
	// has a vsock space of its own, so one port serves every machine.
	AgentVsockPort = 1024
	// RosettaTag is the virtiofs tag of the Rosetta share on Apple silicon.
	RosettaTag = "rosetta"
	// diskDevice is the guest's name of the data disk, the only
	// virtio-blk device.
	diskDevice = "vda"
)

// vmnet's shared (NAT) network as macOS sets it up unless configured
// otherwise: the Mac is the gateway and the DNS forwarder, and hands out
// leases from the bottom of the range. The guest takes a static address
// from the top half, picked by machine name, to stay clear of them.
var (
	natPrefix = netip.MustParsePrefix("192.168.64.0/24")
)

// MiB is a mebibyte in bytes.
const MiB = 1 << 20

// Limits are Virtualization.framework's bounds on a VM on this Mac
// (VZVirtualMachineConfiguration's minimum and maximum allowed CPU count
// and memory size).
type Limits struct {
	MinCPUs, MaxCPUs     uint
	MinMemory, MaxMemory uint64 // bytes
}

// Rosetta is whether the Mac can share Rosetta with Linux guests.
type Rosetta int

// Rosetta availabilities, as VZLinuxRosettaDirectoryShare reports them.
const (
	RosettaUnsupported Rosetta = iota
	RosettaNotInstalled
	RosettaInstalled
)

// Host is what a machine's description depends on besides the spec.
// The driver probes it; tests pass a fixed one.
type Host struct {
	// Now is the host's time at boot.
	Now time.Time
	// Arch is the Mac's architecture as a GOARCH.
	Arch string
	// Translated reports whether this process is an amd64 build running
	// under Rosetta on Apple silicon, where Arch is not the Mac's.
	Translated bool
	// OS is the running macOS version.
	OS OSVersion
	// Limits are the framework's CPU and memory bounds.
	Limits Limits
	// Rosetta is whether Rosetta for Linux is installed (Apple silicon,
	// macOS 13 and later).
	Rosetta Rosetta
	// KernelHeader is the first KiB of the guest kernel, to tell its
	// format.
	KernelHeader []byte
	// Stat looks up host paths (os.Stat).
	Stat func(path string) (fs.FileInfo, error)
}

// Description is a machine as Virtualization.framework builds it: plain
// data that the darwin code translates one field at a time.
type Description struct {
	CPUs        uint   `json:"cpus"`
	MemoryBytes uint64 `json:"memory_bytes"`
	Boot        Boot   `json:"boot"`
	// Console is the file the guest's console (hvc0, a virtio console)
	// appends to.
	Console string `json:"console"`
	// VsockPort is the port of the virtio socket device on which the host
	// listens for the agent.
	VsockPort uint32 `json:"vsock_port"`
	// Shares are virtiofs devices, one per shared folder.
	Shares []DirShare `json:"shares,omitempty"`
	// Rosetta adds a virtiofs device tagged RosettaTag that shares
	// Rosetta for Linux.
	Rosetta bool `json:"rosetta,omitempty"`
	// Network is a NAT network device; nil for none.
	Network *NAT `json:"network,omitempty"`
	// UserNetwork is a network device whose frames go to the host
	// daemon's user-mode stack, one per datagram; nil for none.
	UserNetwork *FileHandleNet `json:"user_network,omitempty"`
	// Disk is the data disk, a virtio-blk device; nil for none.
	Disk *BlockDisk `json:"disk,omitempty"`
	// Entropy and Balloon add a virtio entropy device and a traditional
	// memory balloon.
	Entropy bool `json:"entropy"`
	Balloon bool `json:"balloon"`
	// Notes are what the driver logs before it boots the machine.
	Notes []string `json:"notes,omitempty"`
}

// Boot is the Linux boot loader: the kernel, the initramfs and the
// command line.
type Boot struct {
	Kernel  string `json:"kernel"`
	Initrd  string `json:"initrd"`
	Cmdline string `json:"cmdline"`
}

// DirShare is one virtiofs device sharing one host folder.
type DirShare struct {
	Tag      string `json:"tag"`
	HostPath string `json:"host_path"`
	ReadOnly bool   `json:"read_only,omitempty"`
}

// NAT is a virtio network device on the Mac's NAT, with a MAC address
// that stays the machine's across starts.
type NAT struct {
	MAC string `json:"mac"`
}

// FileHandleNet is a virtio-net device attached to a unix datagram
// socket: the driver binds Local, connects it to Stack (the host
// daemon's stack), and hands its descriptor to the framework.
type FileHandleNet struct {
	MAC   string `json:"mac"`
	Stack string `json:"stack"`
	Local string `json:"local"`
}

// BlockDisk is a raw sparse disk image on a virtio-blk device. Caching
// and Sync name the framework's modes; empty leaves the framework's
// default (macOS 11 has no choice).
type BlockDisk struct {
	Path    string `json:"path"`
	Caching string `json:"caching,omitempty"`
	Sync    string `json:"sync,omitempty"`
}

// Disk caching and synchronization modes.
const (
	CachingCached = "cached"
	SyncFsync     = "fsync"
)

// Resolve fills in what spec leaves to the driver: size, the agent's
// vsock port, virtiofs for shares, the data disk's device name, vmnet's
// DHCP in place of the generic user-mode network, and on Intel Macs the
// guest image's vmlinuz (a bzImage) in place of its vmlinux: the
// framework boots a bzImage there, and make vmimage ships both for amd64.
func Resolve(spec platform.MachineSpec) platform.MachineSpec {
	if spec.Arch == "amd64" && filepath.Base(spec.Kernel) == "vmlinux" {
		spec.Kernel = filepath.Join(filepath.Dir(spec.Kernel), "vmlinuz")
	}
	if spec.CPUs == 0 {
		spec.CPUs = DefaultCPUs
	}
	if spec.MemoryMiB == 0 {
		spec.MemoryMiB = DefaultMemoryMiB
	}
	if spec.Agent.IsZero() {
		spec.Agent.VsockPort = AgentVsockPort
	}
	shares := make([]platform.Share, len(spec.Shares))
	for i, sh := range spec.Shares {
		if sh.Type == "" {
			sh.Type = platform.ShareVirtiofs
		}
		shares[i] = sh
	}
	spec.Shares = shares
	if spec.Disk.Path != "" && spec.Disk.Device == "" {
		spec.Disk.Device = diskDevice
	}
	if spec.Network == platform.UserNAT() {
		// vmnet's shared network leases addresses with DHCP; a static
		// one could clash with another VM's lease.
		spec.Network = platform.Network{Mode: platform.NetworkDHCP}
	}
	return spec
}

// MACAddress is the machine's network address: derived from its name,
// so it stays the same across starts, locally administered and unicast.
func MACAddress(name string) net.HardwareAddr {
	sum := sha256.Sum256([]byte("skiff-mac/" + name))
	mac := net.HardwareAddr(sum[:6])
	mac[0] = mac[0]&^0x01 | 0x02
	return mac
}

// Describe turns a resolved, valid spec and the host into the machine's
// description, or reports every problem a user must fix first, each with
// the fix.
func Describe(spec platform.MachineSpec, h Host) (Description, error) {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !h.OS.AtLeast(11, 0) {
		// Nothing else can be asked of the framework.
		return Description{}, fmt.Errorf("the vz driver needs macOS 11 or later and this Mac runs macOS %s; update macOS, or use --driver qemu", h.OS)
	}
	if h.Translated {
		add("this skiff is an Intel (amd64) build running under Rosetta on Apple silicon, where Virtualization.framework cannot run its guest; install the arm64 build of skiff")
	} else if spec.Arch != h.Arch {
		add("machine architecture %s: Virtualization.framework runs only %s guests on this Mac", spec.Arch, h.Arch)
	}
	d := Description{
		CPUs:        uint(max(spec.CPUs, 0)),
		MemoryBytes: uint64(max(spec.MemoryMiB, 0)) * MiB,
		Console:     spec.Log,
		Entropy:     true,
		Balloon:     true,
	}
	lim := h.Limits
	if d.CPUs < lim.MinCPUs || d.CPUs > lim.MaxCPUs {
		add("machine CPUs %d: this Mac allows %d to %d; change it with skiff machine set --cpus", d.CPUs, lim.MinCPUs, lim.MaxCPUs)
	}
	if d.MemoryBytes < lim.MinMemory || d.MemoryBytes > lim.MaxMemory {
		add("machine memory %d MiB: this Mac allows %d to %d MiB; change it with skiff machine set --memory", spec.MemoryMiB, ceilMiB(lim.MinMemory), lim.MaxMemory/MiB)
	}

	errs = append(errs, checkFile(h, "guest initramfs", spec.Initrd))
	if err := checkFile(h, "guest kernel", spec.Kernel); err != nil {
		errs = append(errs, err)
	} else {
		note, err := checkKernel(spec.Arch, kernelFormat(h.KernelHeader))
		errs = append(errs, err)
		if note != "" {
			d.Notes = append(d.Notes, note)
		}
	}
	// Rosetta, where the Mac has it, runs amd64 images; the agent falls
	// back to QEMU without it, and says how to install it.
	d.Rosetta = h.Arch == "arm64" && h.OS.AtLeast(13, 0) && h.Rosetta == RosettaInstalled
	rosettaMissing := h.Arch == "arm64" && h.OS.AtLeast(13, 0) && h.Rosetta == RosettaNotInstalled
	if rosettaMissing {
		d.Notes = append(d.Notes, "Rosetta is not installed, so amd64 images run under QEMU, slowly; install it with: softwareupdate --install-rosetta --agree-to-license")
	}
	line, err := cmdline(spec, h.Now, d.Rosetta, rosettaMissing)
	errs = append(errs, err)
	d.Boot = Boot{Kernel: spec.Kernel, Initrd: spec.Initrd, Cmdline: line}

	switch {
	case spec.Agent.VsockPort != 0:
		d.VsockPort = spec.Agent.VsockPort
	default:
		add("agent transport %q: the vz driver reaches the agent over vsock only", spec.Agent.SerialPort)
	}

	if len(spec.Shares) > 0 && !h.OS.AtLeast(12, 0) {
		add("shared folders need virtiofs, which needs macOS 12 or later, and this Mac runs macOS %s; update macOS, or use --driver qemu", h.OS)
	}
	for _, sh := range spec.Shares {
		if sh.Type != platform.ShareVirtiofs {
			add("share %s: type %s: the vz driver shares folders with virtiofs only", sh.HostPath, sh.Type)
		}
		if d.Rosetta && sh.Tag == RosettaTag {
			add("share %s: tag %q is the Rosetta share's", sh.HostPath, sh.Tag)
		}
		switch st, err := h.Stat(sh.HostPath); {
		case errors.Is(err, fs.ErrNotExist):
			add("shared folder %s does not exist; create it, or stop sharing it with skiff machine set --unshare %s", sh.HostPath, sh.HostPath)
		case err != nil:
			add("shared folder %s: %w", sh.HostPath, err)
		case !st.IsDir():
			add("shared folder %s is not a folder; stop sharing it with skiff machine set --unshare %s", sh.HostPath, sh.HostPath)
		}
		d.Shares = append(d.Shares, DirShare{Tag: sh.Tag, HostPath: sh.HostPath, ReadOnly: sh.ReadOnly})
	}

	switch spec.Network.Mode {
	case platform.NetworkDHCP:
		d.Network = &NAT{MAC: MACAddress(spec.Name).String()}
	case platform.NetworkNAT:
		if pfx, err := netip.ParsePrefix(spec.Network.Address); err == nil && !natPrefix.Contains(pfx.Addr()) {
			d.Notes = append(d.Notes, fmt.Sprintf("the guest's address %s is outside vmnet's default shared network %s; it reaches the outside only if vmnet is configured for that subnet", pfx.Addr(), natPrefix))
		}
		d.Network = &NAT{MAC: MACAddress(spec.Name).String()}
	case platform.NetworkUser:
		if spec.Network.Link.Datagram == "" {
			add("the user-mode network has no datagram socket for vz's file-handle attachment")
			break
		}
		local := filepath.Join(spec.Dir, "net.vz.sock")
		if len(local) > 103 {
			add("the user-mode network socket %s is longer than a unix socket path may be; set SKIFF_HOME to a shorter directory", local)
			break
		}
		d.UserNetwork = &FileHandleNet{MAC: MACAddress(spec.Name).String(), Stack: spec.Network.Link.Datagram, Local: local}
	case "", platform.NetworkNone:
	}

	if spec.Disk.Path != "" {
		d.Disk = &BlockDisk{Path: spec.Disk.Path}
		if h.OS.AtLeast(12, 0) {
			// The host's page cache serves the guest's reads; the guest's
			// flushes reach the disk with fsync, which is what ext4's
			// journal needs to survive the Mac crashing.
			d.Disk.Caching, d.Disk.Sync = CachingCached, SyncFsync
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Description{}, err
	}
	return d, nil
}

func ceilMiB(b uint64) uint64 { return (b + MiB - 1) / MiB }

// cmdline is the guest's kernel command line: the console on the virtio
// console (there is no UART), reboot on panic (which vz turns into a
// stopped VM), quiet unless debugging, skiff's own arguments, and the
// spec's. With rosetta the agent mounts the Rosetta share; with
// rosettaMissing it says how to install Rosetta.
func cmdline(spec platform.MachineSpec, now time.Time, rosetta, rosettaMissing bool) (string, error) {
	args := []string{"console=hvc0", "panic=-1"}
	if !spec.Debug {
		args = append(args, "quiet")
	}
	// Every device is virtio on PCI: its drivers load first.
	c, err := platform.GuestConfig(spec, now, wire.BusPCI)
	if err != nil {
		return "", err
	}
	if rosetta {
		c.RosettaTag = RosettaTag
	}
	c.RosettaMissing = rosettaMissing
	guest, err := c.Args()
	if err != nil {
		return "", err
	}
	args = append(args, guest...)
	args = append(args, spec.KernelArgs...)
	return strings.Join(args, " "), nil
}

// checkFile reports a guest image file that is missing or not a file.
func checkFile(h Host, what, path string) error {
	st, err := h.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s %s does not exist; build the guest image with make vmimage, or set SKIFF_VMIMAGE to its folder", what, path)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s %s is not a file; build the guest image with make vmimage", what, path)
	}
	return nil
}

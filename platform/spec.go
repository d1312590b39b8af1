package platform

import (
	"errors"
	"fmt"
	"net/netip"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/containerd/errdefs"

	"github.com/skiffrun/skiff/guest/api/errclass"
	"github.com/skiffrun/skiff/guest/api/wire"
)

// maxSocketPath is the shortest sun_path limit of the host OSes (104 bytes
// on macOS, 108 on Linux and Windows, both counting the final NUL).
const maxSocketPath = 103

// Limits a VM spec is checked against.
const (
	// MinMemoryMiB is the least memory the guest kernel and agent boot in.
	MinMemoryMiB = 128
	// MaxCPUs bounds the virtual CPUs of a VM.
	MaxCPUs = 255
	// MinDiskBytes is the smallest data disk the agent formats.
	MinDiskBytes = 64 << 20
	// maxTagLen is virtio-fs's limit on a share's tag.
	maxTagLen = 36
)

var (
	namePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
	tagPattern  = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]*$`)
	portPattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
	devPattern  = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
)

// MachineSpec is everything a driver needs to run one machine. It is plain
// data, built and validated the same way on every OS. The fields after
// SeedImages describe a VM; the native driver ignores them.
type MachineSpec struct {
	// Name is the machine's name ("default").
	Name string
	// Dir is the machine's private state directory (mode 0700).
	Dir string
	// Driver names the registered driver that runs the machine.
	Driver string
	// Arch is the guest's architecture as a GOARCH ("amd64", "arm64").
	Arch string
	// CPUs and MemoryMiB size a VM; 0 lets the driver choose. The native
	// driver ignores both.
	CPUs      int
	MemoryMiB int
	// AgentSocket is the unix socket on the host on which the agent (or
	// the host daemon relaying to it) accepts gRPC connections.
	AgentSocket string
	// AgentBinary is the skiff-agent executable. The native driver runs it
	// on the host; VM drivers boot an initramfs that embeds it instead.
	AgentBinary string
	// AgentRoot is the agent's state directory (images, containers).
	AgentRoot string
	// SeedImages are image archives the agent loads on first start.
	SeedImages []string
	// Log receives the agent's output, or the VM's console.
	Log string
	// PIDFile records the process that owns the machine.
	PIDFile string

	// Kernel and Initrd are the guest's kernel image and initramfs.
	Kernel string
	Initrd string
	// KernelArgs are appended to the kernel command line, after the
	// driver's own arguments and GuestArgs.
	KernelArgs []string
	// Disk is the persistent data disk; a zero Disk has none.
	Disk Disk
	// Shares are host folders the guest mounts.
	Shares []Share
	// Network is the guest's network.
	Network Network
	// Agent is the channel between the host and the agent in the guest.
	Agent AgentTransport
	// Hostname is the guest's host name; empty means Name.
	Hostname string
	// Debug asks the guest for verbose output on its console.
	Debug bool
}

// Disk is a data disk: a sparse raw file on the host, created at its size
// on first start and grown (never shrunk) when the size grows.
type Disk struct {
	Path      string
	SizeBytes int64
	// Device is the guest's name of the disk ("vda"); drivers fill it in.
	Device string
}

// ShareType is how a share reaches the guest.
type ShareType string

// Share types, as the guest's kernel command line names them.
const (
	ShareVirtiofs ShareType = wire.FSVirtiofs
	Share9P       ShareType = wire.FS9P
	Share9PVsock  ShareType = wire.FS9PVsock
)

// Share is a host folder mounted in the guest.
type Share struct {
	// HostPath is the folder on the host.
	HostPath string
	// Tag names the share between host and guest.
	Tag string
	// GuestPath is where the guest mounts it (see GuestPath).
	GuestPath string
	ReadOnly  bool
	// Type is filled in by the driver when empty.
	Type ShareType
}

// NetworkMode is the kind of network the guest has.
type NetworkMode string

// Network modes.
const (
	// NetworkNone leaves the guest with loopback only.
	NetworkNone NetworkMode = "none"
	// NetworkNAT is user-mode NAT: the guest reaches out through the
	// host's stack, at a static address.
	NetworkNAT NetworkMode = "nat"
	// NetworkDHCP is a NAT whose DHCP server gives the guest its address,
	// gateway and DNS server (vmnet's on macOS).
	NetworkDHCP NetworkMode = "dhcp"
	// NetworkUser is a user-mode network stack in the host daemon: the
	// guest's frames go to it over Link, at a static address, and the
	// host daemon makes every connection the guest makes.
	NetworkUser NetworkMode = "user"
)

// Network is the guest's network: a static address, a gateway and a DNS
// server, all IPv4.
type Network struct {
	Mode    NetworkMode
	Address string // the guest's address with its prefix, "10.0.2.15/24"
	Gateway string
	DNS     string
	// HostLoopback is an address at which the guest reaches the host's
	// loopback services (host.docker.internal); "" when the network has
	// none.
	HostLoopback string
	// Link is where a user-mode stack meets the VM's network device.
	Link UserLink
}

// UserLink is the host end of a user-mode network: unix sockets in the
// machine's directory on which the host daemon's stack listens, and for
// drivers that carry frames over vsock, the port the driver relays from.
type UserLink struct {
	// Stream is a unix stream socket of frames, each after its length in
	// 4 big-endian bytes (QEMU's stream netdev).
	Stream string
	// Datagram is a unix datagram socket of one frame per datagram (vz's
	// file-handle attachment).
	Datagram string
	// VsockPort is the vsock (hvsock) port on the host on which the
	// guest sends Stream's framing; 0 for drivers that attach a device.
	VsockPort uint32
}

// UserNAT is the network of user-mode NAT (QEMU's slirp and the like).
// slirp's gateway address is the host itself, loopback included.
func UserNAT() Network {
	return Network{Mode: NetworkNAT, Address: "10.0.2.15/24", Gateway: "10.0.2.2", DNS: "10.0.2.3", HostLoopback: "10.0.2.2"}
}

// Addresses of the user-mode network: the stack answers at the gateway
// (DNS included) and forwards what the guest sends to HostLoopback to the
// host's 127.0.0.1.
const (
	userAddress      = "192.168.127.2/24"
	userGateway      = "192.168.127.1"
	userHostLoopback = "192.168.127.254"
	// UserNetVsockPort is the host's vsock port for the network of
	// drivers that relay frames over vsock.
	UserNetVsockPort = 1025
)

// UserNetwork is the user-mode network of the machine whose state
// directory is dir, on its stream socket; a host whose driver needs the
// datagram socket or vsock adds it (UserDatagram, UserNetVsockPort).
func UserNetwork(dir string) Network {
	return Network{
		Mode: NetworkUser, Address: userAddress, Gateway: userGateway, DNS: userGateway, HostLoopback: userHostLoopback,
		Link: UserLink{Stream: filepath.Join(dir, "net.sock")},
	}
}

// UserDatagram is the datagram socket of the user-mode network of the
// machine whose state directory is dir.
func UserDatagram(dir string) string { return filepath.Join(dir, "net.dgram.sock") }

// AgentTransport is the agent's channel: a vsock port, or a virtio-serial
// port whose host end is a unix socket. A zero AgentTransport lets the
// driver choose.
type AgentTransport struct {
	VsockPort    uint32
	SerialPort   string
	SerialSocket string
}

// IsZero reports whether no transport is chosen.
func (t AgentTransport) IsZero() bool { return t == AgentTransport{} }

// Validate reports every field that no driver could work with. VM fields
// are checked when set; ValidateVM also requires them.
func (s MachineSpec) Validate() error {
	return asInvalid(s.check(false))
}

// ValidateVM is Validate for a VM driver's resolved spec: the kernel,
// initramfs, architecture and agent transport must be set.
func (s MachineSpec) ValidateVM() error {
	return asInvalid(s.check(true))
}

func asInvalid(errs []error) error {
	if err := errors.Join(errs...); err != nil {
		return errclass.Errorf(errdefs.ErrInvalidArgument, "%s", err.Error())
	}
	return nil
}

func (s MachineSpec) check(vm bool) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !namePattern.MatchString(s.Name) {
		add("machine name %q: use letters, digits, '_', '.' and '-', starting with a letter or digit", s.Name)
	}
	if s.Driver == "" {
		add("machine driver is not set")
	}
	for _, p := range []struct{ field, path string }{
		{"state directory", s.Dir},
		{"agent socket", s.AgentSocket},
		{"agent root", s.AgentRoot},
		{"log", s.Log},
		{"pid file", s.PIDFile},
	} {
		if !filepath.IsAbs(p.path) {
			add("machine %s %q is not an absolute path", p.field, p.path)
		}
	}
	if len(s.AgentSocket) > maxSocketPath {
		add("agent socket path %q is %d bytes, longer than the %d a unix socket allows; set SKIFF_HOME to a shorter directory", s.AgentSocket, len(s.AgentSocket), maxSocketPath)
	}
	if s.CPUs < 0 || s.CPUs > MaxCPUs {
		add("machine CPUs %d: use 1 to %d", s.CPUs, MaxCPUs)
	}
	if s.MemoryMiB < 0 || (s.MemoryMiB > 0 && s.MemoryMiB < MinMemoryMiB) {
		add("machine memory %d MiB: use at least %d MiB", s.MemoryMiB, MinMemoryMiB)
	}
	if s.Arch != "" && s.Arch != "amd64" && s.Arch != "arm64" {
		add("machine architecture %q: use amd64 or arm64", s.Arch)
	}
	if s.Hostname != "" && !namePattern.MatchString(s.Hostname) {
		add("machine host name %q: use letters, digits, '_', '.' and '-'", s.Hostname)
	}
	for _, a := range s.KernelArgs {
		if a == "" || strings.ContainsAny(a, " \t\n\"") {
			add("kernel argument %q: one word with no spaces or quotes", a)
		}
	}
	if vm {
		if s.Arch == "" {
			add("machine architecture is not set")
		}
		for _, p := range []struct{ field, path string }{{"kernel", s.Kernel}, {"initramfs", s.Initrd}} {
			if !filepath.IsAbs(p.path) {
				add("machine %s %q is not an absolute path", p.field, p.path)
			}
		}
		if s.Agent.IsZero() {
			add("machine agent transport is not set")
		}
	}
	errs = append(errs, s.Disk.check()...)
	errs = append(errs, checkShares(s.Shares)...)
	errs = append(errs, s.Network.check()...)
	errs = append(errs, s.Agent.check()...)
	if p := s.Network.Link.VsockPort; p != 0 && p == s.Agent.VsockPort {
		add("user network vsock port %d is the agent's port too", p)
	}
	return errs
}

func (d Disk) check() []error {
	if d == (Disk{}) {
		return nil
	}
	var errs []error
	if !filepath.IsAbs(d.Path) {
		errs = append(errs, fmt.Errorf("data disk %q is not an absolute path", d.Path))
	}
	if d.SizeBytes < MinDiskBytes {
		errs = append(errs, fmt.Errorf("data disk size %d bytes: use at least %d MiB", d.SizeBytes, MinDiskBytes>>20))
	} else if d.SizeBytes%(1<<20) != 0 {
		errs = append(errs, fmt.Errorf("data disk size %d bytes: use a whole number of MiB", d.SizeBytes))
	}
	if d.Device != "" && !devPattern.MatchString(d.Device) {
		errs = append(errs, fmt.Errorf("data disk device %q: use a kernel device name such as vda", d.Device))
	}
	return errs
}

func checkShares(shares []Share) []error {
	var errs []error
	tags := map[string]bool{}
	guests := map[string]bool{}
	for _, sh := range shares {
		if !filepath.IsAbs(sh.HostPath) {
			errs = append(errs, fmt.Errorf("share %q is not an absolute path", sh.HostPath))
		}
		if !tagPattern.MatchString(sh.Tag) || len(sh.Tag) > maxTagLen {
			errs = append(errs, fmt.Errorf("share tag %q: use up to %d letters, digits, '_' and '-'", sh.Tag, maxTagLen))
		} else if tags[sh.Tag] {
			errs = append(errs, fmt.Errorf("share tag %q is used twice", sh.Tag))
		}
		tags[sh.Tag] = true
		if !path.IsAbs(sh.GuestPath) || path.Clean(sh.GuestPath) != sh.GuestPath || sh.GuestPath == "/" {
			errs = append(errs, fmt.Errorf("share %s: guest path %q must be a clean absolute path other than /", sh.HostPath, sh.GuestPath))
		} else if guests[sh.GuestPath] {
			errs = append(errs, fmt.Errorf("share %s: guest path %q is used twice", sh.HostPath, sh.GuestPath))
		}
		guests[sh.GuestPath] = true
		switch sh.Type {
		case "", ShareVirtiofs, Share9P, Share9PVsock:
		default:
			errs = append(errs, fmt.Errorf("share %s: type %q: use virtiofs, 9p or 9p-vsock", sh.HostPath, sh.Type))
		}
	}
	return errs
}

func (n Network) check() []error {
	switch n.Mode {
	case "", NetworkNone, NetworkDHCP:
		if n.Address != "" || n.Gateway != "" || n.DNS != "" || n.HostLoopback != "" {
			return []error{fmt.Errorf("network %q takes no address, gateway or DNS", n.Mode)}
		}
		return nil
	case NetworkNAT, NetworkUser:
	default:
		return []error{fmt.Errorf("network mode %q: use user, nat, dhcp or none", n.Mode)}
	}
	var errs []error
	if n.HostLoopback != "" {
		if ip, err := netip.ParseAddr(n.HostLoopback); err != nil || !ip.Is4() {
			errs = append(errs, fmt.Errorf("network host loopback address %q: use an IPv4 address", n.HostLoopback))
		}
	}
	if n.Mode == NetworkUser {
		for _, p := range []struct{ field, path string }{{"stream", n.Link.Stream}, {"datagram", n.Link.Datagram}} {
			if p.path == "" && p.field == "datagram" {
				continue
			}
			if !filepath.IsAbs(p.path) {
				errs = append(errs, fmt.Errorf("user network %s socket %q is not an absolute path", p.field, p.path))
			} else if len(p.path) > maxSocketPath {
				errs = append(errs, fmt.Errorf("user network socket path %q is longer than the %d bytes a unix socket allows; set SKIFF_HOME to a shorter directory", p.path, maxSocketPath))
			}
		}
		if n.Link.VsockPort == 0xFFFFFFFF {
			errs = append(errs, errors.New("user network vsock port: VMADDR_PORT_ANY is no port"))
		}
	} else if n.Link != (UserLink{}) {
		errs = append(errs, fmt.Errorf("network %q takes no user-mode link", n.Mode))
	}
	pfx, err := netip.ParsePrefix(n.Address)
	if err != nil || !pfx.Addr().Is4() {
		errs = append(errs, fmt.Errorf("network address %q: use an IPv4 address with its prefix length, such as 10.0.2.15/24", n.Address))
	}
	for _, a := range []struct{ field, addr string }{{"gateway", n.Gateway}, {"DNS server", n.DNS}} {
		ip, err := netip.ParseAddr(a.addr)
		if err != nil || !ip.Is4() {
			errs = append(errs, fmt.Errorf("network %s %q: use an IPv4 address", a.field, a.addr))
		} else if pfx.IsValid() && a.field == "gateway" && !pfx.Contains(ip) {
			errs = append(errs, fmt.Errorf("network gateway %s is outside %s", ip, pfx))
		}
	}
	return errs
}

func (t AgentTransport) check() []error {
	if t.IsZero() {
		return nil
	}
	serial := t.SerialPort != "" || t.SerialSocket != ""
	if t.VsockPort != 0 && serial {
		return []error{errors.New("agent transport: choose a vsock port or a serial port, not both")}
	}
	if t.VsockPort != 0 {
		if t.VsockPort == 0xFFFFFFFF {
			return []error{errors.New("agent vsock port: VMADDR_PORT_ANY is no port")}
		}
		return nil
	}
	var errs []error
	if !portPattern.MatchString(t.SerialPort) {
		errs = append(errs, fmt.Errorf("agent serial port name %q: use letters, digits, '_', '.' and '-'", t.SerialPort))
	}
	if !filepath.IsAbs(t.SerialSocket) {
		errs = append(errs, fmt.Errorf("agent serial socket %q is not an absolute path", t.SerialSocket))
	} else if len(t.SerialSocket) > maxSocketPath {
		errs = append(errs, fmt.Errorf("agent serial socket path %q is longer than the %d bytes a unix socket allows; set SKIFF_HOME to a shorter directory", t.SerialSocket, maxSocketPath))
	}
	return errs
}

// GuestPath is where the guest mounts the host folder hostPath, and ""
// for a path no share can have. A unix path stays as it is, cleaned. A
// Windows path goes under /mnt, with forward slashes:
//
//	C:\src, c:/src, \\?\C:\src  ->  /mnt/c/src  (the drive letter lowered)
//	\\server\share\dir          ->  /mnt/unc/server/share/dir
//	\\?\UNC\server\share\dir    ->  /mnt/unc/server/share/dir
//	\\.\pipe\x, \\server        ->  ""  (a device, or no share named)
//
// Windows paths are told apart by their form, not by the OS this runs on,
// so the translation is the same (and tested) everywhere; ".." never
// climbs out of the drive or the share.
func GuestPath(hostPath string) string {
	p := hostPath
	if len(p) >= 2 && p[0] == '\\' && p[1] == '\\' {
		rest := p[2:]
		switch {
		case hasPrefixFold(rest, `?\UNC\`):
			return uncGuestPath(rest[len(`?\UNC\`):])
		case strings.HasPrefix(rest, `?\`), strings.HasPrefix(rest, `.\`):
			// The Win32 file and device namespaces: only a drive is a
			// folder a share can have.
			if d := rest[2:]; isDrivePath(d) {
				return driveGuestPath(d)
			}
			return ""
		}
		return uncGuestPath(rest)
	}
	if isDrivePath(p) {
		return driveGuestPath(p)
	}
	return path.Clean(p)
}

// isDrivePath reports whether p starts with a drive letter and a colon.
func isDrivePath(p string) bool { return len(p) >= 2 && p[1] == ':' && isLetter(p[0]) }

// driveGuestPath maps `C:\dir` to /mnt/c/dir.
func driveGuestPath(p string) string {
	return "/mnt/" + strings.ToLower(p[:1]) + underRoot(p[2:])
}

// uncGuestPath maps `server\share\dir` to /mnt/unc/server/share/dir; a
// path without both a server and a share names no folder.
func uncGuestPath(p string) string {
	parts := strings.FieldsFunc(p, func(r rune) bool { return r == '\\' || r == '/' })
	if len(parts) < 2 || parts[0] == "." || parts[0] == ".." || parts[1] == "." || parts[1] == ".." {
		return ""
	}
	return "/mnt/unc/" + parts[0] + "/" + parts[1] + underRoot(strings.Join(parts[2:], "/"))
}

// underRoot cleans rest, a path below some root, into "" or "/a/b"
// without letting ".." leave the root.
func underRoot(rest string) string {
	c := path.Clean("/" + strings.ReplaceAll(rest, `\`, "/"))
	if c == "/" {
		return ""
	}
	return c
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func isLetter(b byte) bool { return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') }

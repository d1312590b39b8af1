package wire

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// BootConfig is what the host's driver tells the agent of a machine at
// boot, on the guest's kernel command line. Args writes it; the agent
// reads it back with ParseCmdline. The keys:
//
//	skiff.bus=<mmio|pci|vmbus>[,...]
//	skiff.agent=serial:<port name> | vsock:<port>
//	skiff.disk=<device>
//	skiff.share=<tag>,<virtiofs|9p|9p-vsock>,<ro|rw>,<url.PathEscape'd guest path>  (repeated)
//	skiff.net=static,<ip/prefix>,<gateway>,<dns> | dhcp | none
//	skiff.hostloop=<ip>
//	skiff.netvsock=<port>
//	skiff.time=<unix ns>
//	skiff.hostname=<name>
//	skiff.debug=1
//	skiff.rosetta=<virtiofs tag> | not-installed
type BootConfig struct {
	// Buses are the buses the driver put the machine's devices on
	// (BusMMIO, BusPCI, BusVMBus), whose drivers the guest loads first;
	// empty lets the machine look for them.
	Buses []string
	// Agent is how the agent reaches the host.
	Agent Transport
	// Disk is the data disk's device name under /dev ("vda"); empty keeps
	// the agent's state in memory.
	Disk string
	// Shares are host folders to mount.
	Shares []Share
	// Net is the static configuration of eth0; nil leaves it down unless
	// DHCP.
	Net *StaticNet
	// DHCP reports whether eth0 asks a DHCP server for its configuration.
	DHCP bool
	// HostLoopback is the address at which the machine reaches the host's
	// loopback services (host.docker.internal); invalid when there is
	// none.
	HostLoopback netip.Addr
	// NetVsockPort is the host's vsock port to which the machine carries
	// eth0's Ethernet frames, each after its length in 4 big-endian bytes
	// (a user-mode network whose driver relays frames rather than attach
	// a network device): the agent makes eth0 a TAP device and forwards
	// it there. 0 when the hypervisor gives the machine its eth0.
	NetVsockPort uint32
	// Time is the host's clock at boot; zero when not given.
	Time time.Time
	// Hostname is the machine's host name; empty keeps the kernel's.
	Hostname string
	// Debug reports whether the console log is verbose.
	Debug bool
	// RosettaTag is the virtiofs tag of the share that holds Rosetta for
	// Linux (Apple silicon); empty for none.
	RosettaTag string
	// RosettaMissing reports a Mac that could share Rosetta but has not
	// installed it.
	RosettaMissing bool
}

// rosettaNotInstalled is skiff.rosetta's value for RosettaMissing.
const rosettaNotInstalled = "not-installed"

// Bus names for skiff.bus=.
const (
	BusMMIO  = "mmio"
	BusPCI   = "pci"
	BusVMBus = "vmbus"
)

// Transport kinds.
const (
	TransportSerial = "serial"
	TransportVsock  = "vsock"
)

// Transport is the agent's channel to the host: a virtio-serial port by
// name, or a vsock port on the host (CID 2).
type Transport struct {
	Kind string
	// Name is the virtio-serial port name.
	Name string
	// Port is the host's vsock port.
	Port uint32
}

func (t Transport) String() string {
	if t.Kind == TransportVsock {
		return TransportVsock + ":" + strconv.FormatUint(uint64(t.Port), 10)
	}
	return t.Kind + ":" + t.Name
}

// Share file system types.
const (
	FSVirtiofs = "virtiofs"
	FS9P       = "9p"
	FS9PVsock  = "9p-vsock"
)

// Share is a host folder the machine mounts.
type Share struct {
	// Tag names the share to the hypervisor (the virtiofs or 9p tag, or
	// the aname for 9p over vsock).
	Tag      string
	FSType   string
	ReadOnly bool
	// Path is where it is mounted in the machine: absolute and clean.
	Path string
}

// StaticNet is a static configuration of eth0.
type StaticNet struct {
	Addr    netip.Prefix
	Gateway netip.Addr // invalid when there is none
	DNS     netip.Addr // invalid when there is none
}

// The keys.
const (
	keyBus      = "skiff.bus"
	keyAgent    = "skiff.agent"
	keyDisk     = "skiff.disk"
	keyShare    = "skiff.share"
	keyNet      = "skiff.net"
	keyHostLoop = "skiff.hostloop"
	keyNetVsock = "skiff.netvsock"
	keyTime     = "skiff.time"
	keyHostname = "skiff.hostname"
	keyDebug    = "skiff.debug"
	keyRosetta  = "skiff.rosetta"
)

// Args are c's skiff.* kernel arguments, in the order of the keys above.
// Drivers put their own arguments (console, panic) before them and the
// spec's extra arguments after. Args fails, naming every field, when a
// field would not read back as it is: an argument is one word the
// kernel passes on as it is.
func (c BootConfig) Args() ([]string, error) {
	var args []string
	var errs []error
	add := func(key, val string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%s: %w", key, val, err))
			return
		}
		args = append(args, key+"="+val)
	}
	if len(c.Buses) > 0 {
		v := strings.Join(c.Buses, ",")
		_, err := parseBuses(v)
		add(keyBus, v, err)
	}
	add(keyAgent, c.Agent.String(), c.Agent.check())
	if c.Disk != "" {
		add(keyDisk, c.Disk, checkDisk(c.Disk))
	}
	for _, s := range c.Shares {
		mode := "rw"
		if s.ReadOnly {
			mode = "ro"
		}
		add(keyShare, s.Tag+","+s.FSType+","+mode+","+url.PathEscape(s.Path), s.check())
	}
	switch {
	case c.Net != nil && c.DHCP:
		add(keyNet, "dhcp", errors.New("a static network and DHCP both"))
	case c.Net != nil:
		add(keyNet, c.Net.encode(), c.Net.check())
	case c.DHCP:
		add(keyNet, "dhcp", nil)
	default:
		add(keyNet, "none", nil)
	}
	if c.HostLoopback.IsValid() {
		var err error
		if !c.HostLoopback.Is4() {
			err = errors.New("want an IPv4 address")
		}
		add(keyHostLoop, c.HostLoopback.String(), err)
	}
	if c.NetVsockPort != 0 {
		v := strconv.FormatUint(uint64(c.NetVsockPort), 10)
		_, err := parseNetVsock(v)
		add(keyNetVsock, v, err)
	}
	if !c.Time.IsZero() {
		ns := c.Time.UnixNano()
		var err error
		if !time.Unix(0, ns).Equal(c.Time) {
			err = errors.New("a time outside the years 1678 to 2262")
		}
		add(keyTime, strconv.FormatInt(ns, 10), err)
	}
	if c.Hostname != "" {
		add(keyHostname, c.Hostname, checkHostname(c.Hostname))
	}
	if c.Debug {
		add(keyDebug, "1", nil)
	}
	switch {
	case c.RosettaTag != "" && c.RosettaMissing:
		add(keyRosetta, c.RosettaTag, errors.New("a Rosetta share, and Rosetta not installed"))
	case c.RosettaTag != "":
		var err error
		if checkWord(c.RosettaTag) != nil || c.RosettaTag == rosettaNotInstalled {
			err = errors.New("want a virtiofs tag of one word")
		}
		add(keyRosetta, c.RosettaTag, err)
	case c.RosettaMissing:
		add(keyRosetta, rosettaNotInstalled, nil)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("kernel command line: %w", err)
	}
	return args, nil
}

// ParseCmdline reads the skiff.* keys of a kernel command line. It
// returns every key it could read, and an error naming those it could
// not, so that one bad share does not keep the machine from serving. A
// key given twice keeps its last value (skiff.share adds a share).
// Other keys are the kernel's and are ignored.
func ParseCmdline(cmdline string) (BootConfig, error) {
	var c BootConfig
	var errs []error
	for _, f := range strings.Fields(cmdline) {
		key, val, _ := strings.Cut(f, "=")
		if !strings.HasPrefix(key, "skiff.") {
			continue
		}
		var err error
		switch key {
		case keyAgent:
			c.Agent, err = parseTransport(val)
		case keyDisk:
			if err = checkDisk(val); err == nil {
				c.Disk = val
			}
		case keyShare:
			var s Share
			if s, err = parseShare(val); err == nil {
				c.Shares = append(c.Shares, s)
			}
		case keyNet:
			switch val {
			case "dhcp":
				c.Net, c.DHCP = nil, true
			case "none":
				c.Net, c.DHCP = nil, false
			default:
				var n *StaticNet
				if n, err = parseNet(val); err == nil {
					c.Net, c.DHCP = n, false
				}
			}
		case keyHostLoop:
			var a netip.Addr
			if a, err = netip.ParseAddr(val); err == nil && !a.Is4() {
				err = errors.New("want an IPv4 address")
			}
			if err == nil {
				c.HostLoopback = a
			}
		case keyNetVsock:
			var p uint32
			if p, err = parseNetVsock(val); err == nil {
				c.NetVsockPort = p
			}
		case keyTime:
			var ns int64
			if ns, err = strconv.ParseInt(val, 10, 64); err == nil {
				c.Time = time.Unix(0, ns)
			}
		case keyHostname:
			if err = checkHostname(val); err == nil {
				c.Hostname = val
			}
		case keyDebug:
			c.Debug = val == "1" || val == "true"
		case keyRosetta:
			switch {
			case val == rosettaNotInstalled:
				c.RosettaTag, c.RosettaMissing = "", true
			case checkWord(val) == nil:
				c.RosettaTag, c.RosettaMissing = val, false
			default:
				err = errors.New("want a virtiofs tag or not-installed")
			}
		case keyBus:
			var bs []string
			if bs, err = parseBuses(val); err == nil {
				c.Buses = bs
			}
		default:
			err = errors.New("unknown key")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f, err))
		}
	}
	if c.Agent.Kind == "" && len(errs) == 0 {
		errs = append(errs, errors.New("no skiff.agent= on the kernel command line"))
	}
	return c, errors.Join(errs...)
}

// checkWord reports a value that is not one word of a kernel command
// line that reaches the agent as written: empty, or with white space or
// a quote (which the kernel's parser takes for itself).
func checkWord(v string) error {
	if v == "" {
		return errors.New("empty")
	}
	if strings.ContainsFunc(v, func(r rune) bool { return unicode.IsSpace(r) || r == '"' }) {
		return errors.New("white space or quotes")
	}
	return nil
}

func checkDisk(v string) error {
	if checkWord(v) != nil || strings.Contains(v, "/") || v == "." || v == ".." {
		return errors.New("want a device name under /dev, such as vda")
	}
	return nil
}

func checkHostname(v string) error {
	if checkWord(v) != nil || len(v) > 64 || strings.Contains(v, "/") {
		return errors.New("want a host name of at most 64 characters")
	}
	return nil
}

func parseBuses(v string) ([]string, error) {
	bs := strings.Split(v, ",")
	for _, b := range bs {
		switch b {
		case BusMMIO, BusPCI, BusVMBus:
		default:
			return nil, fmt.Errorf("unknown bus %q: want mmio, pci or vmbus", b)
		}
	}
	return bs, nil
}

func (t Transport) check() error {
	switch t.Kind {
	case TransportSerial:
		if checkWord(t.Name) != nil || strings.Contains(t.Name, "/") || t.Port != 0 {
			return errors.New("want serial:<port name>")
		}
		return nil
	case TransportVsock:
		if t.Name != "" {
			return errors.New("want vsock:<port number>")
		}
		return nil
	}
	return fmt.Errorf("unknown transport %q: want serial:<name> or vsock:<port>", t.Kind)
}

func parseTransport(v string) (Transport, error) {
	kind, arg, _ := strings.Cut(v, ":")
	t := Transport{Kind: kind}
	if kind == TransportVsock {
		p, err := strconv.ParseUint(arg, 10, 32)
		if err != nil {
			return Transport{}, errors.New("want vsock:<port number>")
		}
		t.Port = uint32(p)
	} else {
		t.Name = arg
	}
	if err := t.check(); err != nil {
		return Transport{}, err
	}
	return t, nil
}

func (s Share) check() error {
	if checkWord(s.Tag) != nil || strings.Contains(s.Tag, ",") {
		return fmt.Errorf("tag %q: want one word without commas", s.Tag)
	}
	switch s.FSType {
	case FSVirtiofs, FS9P, FS9PVsock:
	default:
		return fmt.Errorf("unknown file system %q: want virtiofs, 9p or 9p-vsock", s.FSType)
	}
	if !path.IsAbs(s.Path) || path.Clean(s.Path) != s.Path || s.Path == "/" {
		return fmt.Errorf("guest path %q is not a clean absolute path below /", s.Path)
	}
	return nil
}

func parseShare(v string) (Share, error) {
	parts := strings.Split(v, ",")
	if len(parts) != 4 {
		return Share{}, errors.New("want <tag>,<fstype>,<ro|rw>,<guest path>")
	}
	s := Share{Tag: parts[0], FSType: parts[1]}
	switch parts[2] {
	case "ro":
		s.ReadOnly = true
	case "rw":
	default:
		return Share{}, fmt.Errorf("want ro or rw, not %q", parts[2])
	}
	p, err := url.PathUnescape(parts[3])
	if err != nil {
		return Share{}, fmt.Errorf("guest path: %w", err)
	}
	s.Path = p
	if err := s.check(); err != nil {
		return Share{}, err
	}
	return s, nil
}

// parseNetVsock reads skiff.netvsock's port: neither 0, which is no
// link, nor VMADDR_PORT_ANY, which no host listens on.
func parseNetVsock(v string) (uint32, error) {
	p, err := strconv.ParseUint(v, 10, 32)
	if err != nil || p == 0 || p == math.MaxUint32 {
		return 0, errors.New("want a vsock port from 1 to 4294967294")
	}
	return uint32(p), nil
}

func (n *StaticNet) encode() string {
	s := "static," + n.Addr.String() + ","
	if n.Gateway.IsValid() {
		s += n.Gateway.String()
	}
	s += ","
	if n.DNS.IsValid() {
		s += n.DNS.String()
	}
	return s
}

func (n *StaticNet) check() error {
	if !n.Addr.IsValid() {
		return errors.New("no address")
	}
	for _, a := range []netip.Addr{n.Gateway, n.DNS} {
		if a.IsValid() && (checkWord(a.String()) != nil || strings.Contains(a.String(), ",")) {
			return fmt.Errorf("address %q: not one word without commas", a)
		}
	}
	return nil
}

func parseNet(v string) (*StaticNet, error) {
	parts := strings.Split(v, ",")
	if len(parts) != 4 || parts[0] != "static" {
		return nil, errors.New("want none, dhcp or static,<ip/prefix>,<gateway>,<dns>")
	}
	var n StaticNet
	var err error
	if n.Addr, err = netip.ParsePrefix(parts[1]); err != nil {
		return nil, fmt.Errorf("address: %w", err)
	}
	if parts[2] != "" {
		if n.Gateway, err = netip.ParseAddr(parts[2]); err != nil {
			return nil, fmt.Errorf("gateway: %w", err)
		}
	}
	if parts[3] != "" {
		if n.DNS, err = netip.ParseAddr(parts[3]); err != nil {
			return nil, fmt.Errorf("dns: %w", err)
		}
	}
	return &n, nil
}

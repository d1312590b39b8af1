package machine

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// Config is the machine's configuration, from the kernel command line
// that the host's driver writes.
type Config struct {
	// Agent is how the agent reaches the host.
	Agent Transport
	// Disk is the data disk's device name under /dev ("vda"); empty keeps
	// the agent's state in memory.
	Disk string
	// Shares are host folders to mount.
	Shares []Share
	// Net is the network configuration of eth0; nil leaves it down
	// unless DHCP.
	Net *StaticNet
	// DHCP reports whether eth0 asks a DHCP server for its configuration.
	DHCP bool
	// Time is the host's clock at boot; zero when not given.
	Time time.Time
	// Hostname is the machine's host name; empty keeps the kernel's.
	Hostname string
	// Debug reports whether the console log is verbose.
	Debug bool
	// Buses are the buses the driver put the machine's devices on
	// ("mmio", "pci", "vmbus"); empty lets the machine look for them.
	Buses []string
}

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
		return fmt.Sprintf("vsock:%d", t.Port)
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

// ParseCmdline reads the skiff.* keys of a kernel command line. It
// returns every key it could read, and an error naming those it could
// not, so that one bad share does not keep the machine from serving.
// Other keys are the kernel's and are ignored.
func ParseCmdline(cmdline string) (Config, error) {
	var c Config
	var errs []error
	for _, f := range strings.Fields(cmdline) {
		key, val, _ := strings.Cut(f, "=")
		if !strings.HasPrefix(key, "skiff.") {
			continue
		}
		var err error
		switch key {
		case "skiff.agent":
			c.Agent, err = parseTransport(val)
		case "skiff.disk":
			if val == "" || strings.ContainsAny(val, "/") || val == "." || val == ".." {
				err = errors.New("want a device name under /dev, such as vda")
			}
			c.Disk = val
		case "skiff.share":
			var s Share
			if s, err = parseShare(val); err == nil {
				c.Shares = append(c.Shares, s)
			}
		case "skiff.net":
			if val == "dhcp" {
				c.DHCP = true
			} else {
				c.Net, err = parseNet(val)
			}
		case "skiff.time":
			var ns int64
			if ns, err = strconv.ParseInt(val, 10, 64); err == nil {
				c.Time = time.Unix(0, ns)
			}
		case "skiff.hostname":
			if val == "" || len(val) > 64 || strings.ContainsAny(val, "/ ") {
				err = errors.New("want a host name of at most 64 characters")
			} else {
				c.Hostname = val
			}
		case "skiff.debug":
			c.Debug = val == "1" || val == "true"
		case "skiff.bus":
			c.Buses, err = parseBuses(val)
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

func parseTransport(v string) (Transport, error) {
	kind, arg, _ := strings.Cut(v, ":")
	switch kind {
	case TransportSerial:
		if arg == "" || strings.Contains(arg, "/") {
			return Transport{}, errors.New("want serial:<port name>")
		}
		return Transport{Kind: kind, Name: arg}, nil
	case TransportVsock:
		p, err := strconv.ParseUint(arg, 10, 32)
		if err != nil {
			return Transport{}, errors.New("want vsock:<port number>")
		}
		return Transport{Kind: kind, Port: uint32(p)}, nil
	}
	return Transport{}, fmt.Errorf("unknown transport %q: want serial:<name> or vsock:<port>", kind)
}

func parseShare(v string) (Share, error) {
	parts := strings.Split(v, ",")
	if len(parts) != 4 {
		return Share{}, errors.New("want <tag>,<fstype>,<ro|rw>,<guest path>")
	}
	s := Share{Tag: parts[0], FSType: parts[1]}
	if s.Tag == "" {
		return Share{}, errors.New("empty tag")
	}
	switch s.FSType {
	case FSVirtiofs, FS9P, FS9PVsock:
	default:
		return Share{}, fmt.Errorf("unknown file system %q: want virtiofs, 9p or 9p-vsock", s.FSType)
	}
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
	if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
		return Share{}, fmt.Errorf("guest path %q is not a clean absolute path below /", p)
	}
	s.Path = p
	return s, nil
}

func parseNet(v string) (*StaticNet, error) {
	if v == "none" {
		return nil, nil
	}
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

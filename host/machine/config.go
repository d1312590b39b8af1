package machine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
	units "github.com/docker/go-units"

	"github.com/skiffrun/skiff/guest/api/atomicfile"
	"github.com/skiffrun/skiff/guest/api/errclass"
	"github.com/skiffrun/skiff/guest/api/wire"
	"github.com/skiffrun/skiff/platform"
)

// DefaultDiskSize is the data disk's size unless configured: sparse, so
// it costs only what the guest writes.
const DefaultDiskSize = 64 << 30

// Config is what a machine keeps between starts, in config.json in its
// directory: the sizes and shares of a VM. Zero values take defaults.
type Config struct {
	// Driver is the driver the machine last started with, used
	// when neither --driver nor SKIFF_DRIVER names one.
	Driver    string  `json:"driver,omitempty"`
	CPUs      int     `json:"cpus,omitempty"`
	MemoryMiB int     `json:"memory_mib,omitempty"`
	DiskBytes int64   `json:"disk_bytes,omitempty"`
	Shares    []Mount `json:"shares,omitempty"`
	// Network is the VM's uplink: NetworkUser or NetworkNAT; "" is the
	// OS's default (defaultNetwork).
	Network string `json:"network,omitempty"`
}

// Network modes of `skiff machine set --network`.
const (
	// NetworkUser is the user-mode stack in the host daemon: the host
	// makes the machine's connections, so they follow its VPN and proxy,
	// and DNS is the host's.
	NetworkUser = "user"
	// NetworkNAT is the hypervisor's own NAT (QEMU's slirp, vmnet, HNS).
	NetworkNAT = "nat"
)

// ParseNetwork checks a --network value of `skiff machine set`.
func ParseNetwork(s string) (string, error) {
	switch s {
	case NetworkUser, NetworkNAT:
		return s, nil
	}
	return "", errclass.Errorf(errdefs.ErrInvalidArgument, "invalid argument %q for \"--network\": use user (the host's own connections, the default) or nat (the hypervisor's NAT)", s)
}

// networkMode is the saved mode, or the OS's default.
func (c Config) networkMode() string {
	if c.Network == "" {
		return defaultNetwork()
	}
	return c.Network
}

// network is the VM network of the saved mode.
func (c Config) network(dir string) platform.Network {
	if c.networkMode() == NetworkNAT {
		return platform.UserNAT()
	}
	return userNetwork(dir)
}

// Mount is a host folder shared with the machine.
type Mount struct {
	Path     string `json:"path"`
	ReadOnly bool   `json:"read_only,omitempty"`
}

// ParseShare parses PATH[:ro] (or :rw) into a Mount with an absolute path.
func ParseShare(s string) (Mount, error) {
	m := Mount{Path: s}
	if p, ok := strings.CutSuffix(s, ":ro"); ok {
		m = Mount{Path: p, ReadOnly: true}
	} else if p, ok := strings.CutSuffix(s, ":rw"); ok {
		m.Path = p
	}
	if m.Path == "" {
		return Mount{}, errclass.Errorf(errdefs.ErrInvalidArgument, "share %q: give a host folder, PATH or PATH:ro", s)
	}
	abs, err := filepath.Abs(m.Path)
	if err != nil {
		return Mount{}, fmt.Errorf("share %q: %w", s, err)
	}
	m.Path = abs
	return m, nil
}

func (m *Machine) configPath() string { return filepath.Join(m.spec.Dir, "config.json") }

// Config returns the machine's saved configuration; none saved is a zero
// Config.
func (m *Machine) Config() (Config, error) {
	var c Config
	b, err := os.ReadFile(m.configPath())
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read machine config: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("machine config %s: %w", m.configPath(), err)
	}
	return c, nil
}

// Configure merges changes into the saved configuration (non-zero fields
// replace, shares are added or updated) and writes it atomically.
func (m *Machine) Configure(changes Config) error {
	_, err := m.Set(Changes{CPUs: changes.CPUs, MemoryMiB: changes.MemoryMiB, DiskBytes: changes.DiskBytes, Share: changes.Shares})
	return err
}

func savedDriver(dir string) string {
	var c Config
	if b, err := os.ReadFile(filepath.Join(dir, "config.json")); err == nil && json.Unmarshal(b, &c) == nil {
		return c.Driver
	}
	return ""
}

// saveDriver records the driver the machine starts with.
func (m *Machine) saveDriver() error {
	c, err := m.Config()
	if err != nil || c.Driver == m.spec.Driver {
		return err
	}
	c.Driver = m.spec.Driver
	return m.writeConfig(c)
}

func (m *Machine) writeConfig(c Config) error {
	if err := os.MkdirAll(m.spec.Dir, 0o700); err != nil {
		return fmt.Errorf("create machine directory: %w", err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(m.configPath(), append(b, '\n')); err != nil {
		return fmt.Errorf("write machine config: %w", err)
	}
	return nil
}

// vmSpec is the machine's spec for a VM driver: its saved configuration,
// the guest image, the default and configured shares, a data disk,
// its network (user-mode unless set to nat), and the console in
// console.log.
func (m *Machine) vmSpec() (platform.MachineSpec, error) {
	c, err := m.Config()
	if err != nil {
		return platform.MachineSpec{}, err
	}
	spec := m.spec
	spec.Arch = runtime.GOARCH
	spec.CPUs, spec.MemoryMiB = c.CPUs, c.MemoryMiB
	img, err := m.bootFiles(spec.Arch)
	if err != nil {
		return spec, err
	}
	spec.Kernel, spec.Initrd = img.kernel, img.initrd
	size := c.DiskBytes
	if size == 0 {
		size = DefaultDiskSize
	}
	spec.Disk = platform.Disk{Path: filepath.Join(spec.Dir, "data.img"), SizeBytes: size}
	spec.Network = c.network(spec.Dir)
	spec.Log = filepath.Join(spec.Dir, wire.ConsoleLogFile)
	spec.PIDFile = m.daemonPIDFile()
	spec.Shares = shares(append(defaultShares(), c.Shares...))
	if os.Getenv("SKIFF_DEBUG") != "" {
		spec.Debug = true
	}
	return spec, spec.Validate()
}

// Changes are what `skiff machine set` changes; zero fields keep the
// saved value.
type Changes struct {
	CPUs      int
	MemoryMiB int
	// DiskBytes grows the data disk; it never shrinks.
	DiskBytes int64
	// Share adds or updates shared folders; Unshare removes them (by
	// host path).
	Share   []Mount
	Unshare []string
	// Network is NetworkUser or NetworkNAT; "" keeps the saved one.
	Network string
}

// Empty reports whether ch changes nothing.
func (ch Changes) Empty() bool {
	return ch.CPUs == 0 && ch.MemoryMiB == 0 && ch.DiskBytes == 0 && len(ch.Share) == 0 && len(ch.Unshare) == 0 && ch.Network == ""
}

// Set merges ch into the machine's saved configuration, checks it, and
// writes it atomically. The machine applies it at its next start.
func (m *Machine) Set(ch Changes) (Config, error) {
	c, err := m.Config()
	if err != nil {
		return c, err
	}
	if ch.CPUs != 0 {
		c.CPUs = ch.CPUs
	}
	if ch.MemoryMiB != 0 {
		c.MemoryMiB = ch.MemoryMiB
	}
	if ch.DiskBytes != 0 {
		if cur := m.diskSize(c); ch.DiskBytes < cur {
			return c, errclass.Errorf(errdefs.ErrInvalidArgument, "the data disk of machine %q is %s; --disk-size can only grow it (give at least %s)", m.spec.Name, units.BytesSize(float64(cur)), units.BytesSize(float64(cur)))
		}
		c.DiskBytes = ch.DiskBytes
	}
	for _, p := range ch.Unshare {
		abs, err := filepath.Abs(p)
		if err != nil {
			return c, fmt.Errorf("unshare %q: %w", p, err)
		}
		i := slices.IndexFunc(c.Shares, func(s Mount) bool { return filepath.Clean(s.Path) == abs })
		if i < 0 {
			return c, errclass.Errorf(errdefs.ErrNotFound, "%s is not a shared folder of machine %q (its home and temp folders always are); skiff machine inspect lists its shares", abs, m.spec.Name)
		}
		c.Shares = slices.Delete(c.Shares, i, i+1)
	}
	if ch.Network != "" {
		if _, err := ParseNetwork(ch.Network); err != nil {
			return c, err
		}
		c.Network = ch.Network
	}
	for _, s := range ch.Share {
		if i := slices.IndexFunc(c.Shares, func(o Mount) bool { return o.Path == s.Path }); i >= 0 {
			c.Shares[i] = s
		} else {
			c.Shares = append(c.Shares, s)
		}
	}
	spec := m.spec
	spec.CPUs, spec.MemoryMiB = c.CPUs, c.MemoryMiB
	if c.DiskBytes != 0 {
		spec.Disk = platform.Disk{Path: m.diskPath(), SizeBytes: c.DiskBytes}
	}
	if err := spec.Validate(); err != nil {
		return c, errclass.Errorf(errdefs.ErrInvalidArgument, "%s", err.Error())
	}
	return c, m.writeConfig(c)
}

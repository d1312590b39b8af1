package machine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/containerd/errdefs"

	"github.com/skiffrun/skiff/guest/api/wire"
	"github.com/skiffrun/skiff/platform"
	"github.com/skiffrun/skiff/platform/atomicfile"
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
		return Mount{}, errorf(errdefs.ErrInvalidArgument, "share %q: give a host folder, PATH or PATH:ro", s)
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
// user-mode NAT, and the console in console.log.
func (m *Machine) vmSpec() (platform.MachineSpec, error) {
	c, err := m.Config()
	if err != nil {
		return platform.MachineSpec{}, err
	}
	spec := m.spec
	spec.Arch = runtime.GOARCH
	spec.CPUs, spec.MemoryMiB = c.CPUs, c.MemoryMiB
	img, err := findVMImage(spec.Arch)
	if err != nil {
		return spec, err
	}
	spec.Kernel, spec.Initrd = img.kernel, img.initrd
	size := c.DiskBytes
	if size == 0 {
		size = DefaultDiskSize
	}
	spec.Disk = platform.Disk{Path: filepath.Join(spec.Dir, "data.img"), SizeBytes: size}
	spec.Network = platform.UserNAT()
	spec.Log = filepath.Join(spec.Dir, wire.ConsoleLogFile)
	spec.PIDFile = m.daemonPIDFile()
	spec.Shares = shares(append(defaultShares(), c.Shares...))
	if os.Getenv("SKIFF_DEBUG") != "" {
		spec.Debug = true
	}
	return spec, spec.Validate()
}

// defaultShares are the user's home and temp folders (DESIGN.md,
// decision 4).
func defaultShares() []Mount {
	var out []Mount
	if h, err := os.UserHomeDir(); err == nil {
		out = append(out, Mount{Path: h})
	}
	return append(out, Mount{Path: os.TempDir()})
}

// shares turns mounts into the spec's shares, with stable tags, skipping
// duplicates and folders that do not exist.
func shares(ms []Mount) []platform.Share {
	var out []platform.Share
	seen := map[string]int{}
	for _, mt := range ms {
		p := filepath.Clean(mt.Path)
		if st, err := os.Stat(p); err != nil || !st.IsDir() {
			continue
		}
		if i, ok := seen[p]; ok {
			out[i].ReadOnly = mt.ReadOnly
			continue
		}
		seen[p] = len(out)
		out = append(out, platform.Share{
			HostPath: p, Tag: fmt.Sprintf("share%d", len(out)), GuestPath: platform.GuestPath(p), ReadOnly: mt.ReadOnly,
		})
	}
	return out
}

type vmImage struct{ kernel, initrd string }

// kernelName is the guest kernel's file name per architecture: an ELF
// vmlinux (PVH boot) on amd64, the uncompressed Image on arm64.
func kernelName(arch string) string {
	if arch == "arm64" {
		return "Image"
	}
	return "vmlinux"
}

// initramfsName is the initramfs file the image's manifest names.
func initramfsName(dir string) string {
	var m struct {
		Initramfs struct {
			File string `json:"file"`
		} `json:"initramfs"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "manifest.json")); err == nil && json.Unmarshal(b, &m) == nil && m.Initramfs.File != "" && filepath.Base(m.Initramfs.File) == m.Initramfs.File {
		return m.Initramfs.File
	}
	return "initramfs.cpio"
}

// findVMImage locates the guest image: $SKIFF_VMIMAGE (the folder itself,
// or its ARCH subfolder), else vmimage/ARCH beside the skiff binary.
func findVMImage(arch string) (vmImage, error) {
	var dirs []string
	if d := os.Getenv("SKIFF_VMIMAGE"); d != "" {
		dirs = append(dirs, filepath.Join(d, arch), d)
	} else if exe, err := os.Executable(); err == nil {
		if resolved, err := filepath.EvalSymlinks(exe); err == nil {
			exe = resolved
		}
		dirs = append(dirs, filepath.Join(filepath.Dir(exe), "vmimage", arch))
	}
	for _, d := range dirs {
		k := filepath.Join(d, kernelName(arch))
		if _, err := os.Stat(k); err == nil {
			abs, err := filepath.Abs(d)
			if err != nil {
				return vmImage{}, err
			}
			return vmImage{kernel: filepath.Join(abs, kernelName(arch)), initrd: filepath.Join(abs, initramfsName(abs))}, nil
		}
	}
	return vmImage{}, errorf(errdefs.ErrNotFound, "no guest image for %s at %s; build it with make vmimage (and make build), or set SKIFF_VMIMAGE to its folder", arch, strings.Join(dirs, " or "))
}

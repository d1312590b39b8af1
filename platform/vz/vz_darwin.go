//go:build cgo

package vz

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"runtime"
	"time"

	"github.com/Code-Hex/vz/v3"
	"golang.org/x/sys/unix"

	"github.com/skiffrun/skiff/platform"
)

// Check reports, before a daemon is started, what keeps this Mac from
// running spec: its macOS version, the framework's limits, the guest
// image, the shares, and a binary not signed for virtualization.
func (Driver) Check(spec platform.MachineSpec) error {
	spec = Resolve(withArch(spec))
	h, err := probeHost(spec)
	if err != nil {
		return err
	}
	d, err := Describe(spec, h)
	if err != nil {
		return err
	}
	// The framework opens the console log in the machine's directory,
	// and the data disk, which may not exist before the first start;
	// the user network's socket is the host daemon's, which listens only
	// once it runs. Everything else is validated as it will run.
	if err := os.MkdirAll(spec.Dir, 0o700); err != nil {
		return fmt.Errorf("create machine directory: %w", err)
	}
	d.Disk, d.UserNetwork = nil, nil
	_, links, err := configure(d)
	for _, f := range links {
		_ = f.Close()
	}
	return err
}

// Start describes the machine, creates the data disk on first start,
// builds and starts the VM in this process, and returns it running. The
// agent is not waited for.
func (Driver) Start(ctx context.Context, spec platform.MachineSpec) (_ platform.Machine, err error) {
	spec = Resolve(withArch(spec))
	if err := spec.ValidateVM(); err != nil {
		return nil, err
	}
	h, err := probeHost(spec)
	if err != nil {
		return nil, err
	}
	d, err := Describe(spec, h)
	if err != nil {
		return nil, err
	}
	for _, n := range d.Notes {
		log.Printf("skiff: machine %q: %s", spec.Name, n)
	}
	if err := os.MkdirAll(spec.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create machine directory: %w", err)
	}
	if spec.Disk.Path != "" {
		if err := spec.Disk.EnsureRaw(); err != nil {
			return nil, err
		}
	}
	cfg, links, err := configure(d)
	if err != nil {
		return nil, err
	}
	vm, err := vz.NewVirtualMachine(cfg)
	if err != nil {
		return nil, fmt.Errorf("create the virtual machine: %w", err)
	}
	socks := vm.SocketDevices()
	if len(socks) == 0 {
		return nil, errors.New("the virtual machine has no virtio socket device")
	}
	// The agent dials out as soon as it runs: listen before the VM starts.
	l, err := socks[0].Listen(d.VsockPort)
	if err != nil {
		return nil, fmt.Errorf("listen for the agent on vsock port %d: %w", d.VsockPort, err)
	}
	m := newMachine(spec, d, vm, l)
	m.links = links
	defer func() {
		if err != nil {
			m.forceStop()
			_ = l.Close()
		}
	}()
	if f, err := os.OpenFile(spec.Log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err == nil {
		fmt.Fprintf(f, "%s skiff: booting machine %q (vz, macOS %s)\n", time.Now().UTC().Format(time.RFC3339), spec.Name, h.OS)
		f.Close()
	}
	started := make(chan error, 1)
	go func() { started <- vm.Start() }()
	select {
	case err := <-started:
		if err != nil {
			return nil, explain("start the virtual machine", err)
		}
	case <-ctx.Done():
		return nil, fmt.Errorf("start the virtual machine: %w", ctx.Err())
	}
	return m, nil
}

func withArch(spec platform.MachineSpec) platform.MachineSpec {
	if spec.Arch == "" {
		spec.Arch = runtime.GOARCH
	}
	return spec
}

// probeHost asks macOS and the framework what Describe needs.
func probeHost(spec platform.MachineSpec) (Host, error) {
	s, err := unix.Sysctl("kern.osproductversion")
	if err != nil {
		return Host{}, fmt.Errorf("read the macOS version: %w", err)
	}
	v, err := ParseOSVersion(s)
	if err != nil {
		return Host{}, err
	}
	h := Host{Now: time.Now(), Arch: runtime.GOARCH, OS: v, Stat: os.Stat}
	// Only Apple silicon has the sysctl; it is 1 in a Rosetta process.
	if t, err := unix.SysctlUint32("sysctl.proc_translated"); err == nil && t == 1 {
		h.Translated = true
	}
	if !v.AtLeast(11, 0) {
		// The framework is missing; Describe says so.
		return h, nil
	}
	h.Limits = Limits{
		MinCPUs:   vz.VirtualMachineConfigurationMinimumAllowedCPUCount(),
		MaxCPUs:   vz.VirtualMachineConfigurationMaximumAllowedCPUCount(),
		MinMemory: vz.VirtualMachineConfigurationMinimumAllowedMemorySize(),
		MaxMemory: vz.VirtualMachineConfigurationMaximumAllowedMemorySize(),
	}
	h.Rosetta = rosettaAvailability()
	h.KernelHeader = readHeader(spec.Kernel)
	return h, nil
}

func readHeader(path string) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	b := make([]byte, kernelHeaderSize)
	n, _ := io.ReadFull(f, b)
	return b[:n]
}

// configure translates a description into a validated configuration,
// and returns the descriptors its devices use, which must stay open
// while the VM runs.
func configure(d Description) (_ *vz.VirtualMachineConfiguration, links []*os.File, err error) {
	defer func() {
		if err != nil {
			for _, f := range links {
				_ = f.Close()
			}
			links = nil
		}
	}()
	boot, err := vz.NewLinuxBootLoader(d.Boot.Kernel, vz.WithInitrd(d.Boot.Initrd), vz.WithCommandLine(d.Boot.Cmdline))
	if err != nil {
		return nil, links, fmt.Errorf("boot loader: %w", err)
	}
	cfg, err := vz.NewVirtualMachineConfiguration(boot, d.CPUs, d.MemoryBytes)
	if err != nil {
		return nil, links, fmt.Errorf("machine configuration: %w", err)
	}

	conAtt, err := vz.NewFileSerialPortAttachment(d.Console, true)
	if err != nil {
		return nil, links, fmt.Errorf("console log %s: %w", d.Console, err)
	}
	con, err := vz.NewVirtioConsoleDeviceSerialPortConfiguration(conAtt)
	if err != nil {
		return nil, links, fmt.Errorf("console: %w", err)
	}
	cfg.SetSerialPortsVirtualMachineConfiguration([]*vz.VirtioConsoleDeviceSerialPortConfiguration{con})

	sock, err := vz.NewVirtioSocketDeviceConfiguration()
	if err != nil {
		return nil, links, fmt.Errorf("vsock device: %w", err)
	}
	cfg.SetSocketDevicesVirtualMachineConfiguration([]vz.SocketDeviceConfiguration{sock})

	fsDevs, err := shareDevices(d)
	if err != nil {
		return nil, links, err
	}
	if len(fsDevs) > 0 {
		cfg.SetDirectorySharingDevicesVirtualMachineConfiguration(fsDevs)
	}

	if d.Network != nil {
		dev, err := natDevice(d.Network.MAC)
		if err != nil {
			return nil, links, err
		}
		cfg.SetNetworkDevicesVirtualMachineConfiguration([]*vz.VirtioNetworkDeviceConfiguration{dev})
	}
	if d.UserNetwork != nil {
		dev, f, err := fileHandleDevice(*d.UserNetwork)
		if err != nil {
			return nil, links, err
		}
		links = append(links, f)
		cfg.SetNetworkDevicesVirtualMachineConfiguration([]*vz.VirtioNetworkDeviceConfiguration{dev})
	}

	if d.Disk != nil {
		dev, err := blockDevice(*d.Disk)
		if err != nil {
			return nil, links, err
		}
		cfg.SetStorageDevicesVirtualMachineConfiguration([]vz.StorageDeviceConfiguration{dev})
	}

	if d.Entropy {
		dev, err := vz.NewVirtioEntropyDeviceConfiguration()
		if err != nil {
			return nil, links, fmt.Errorf("entropy device: %w", err)
		}
		cfg.SetEntropyDevicesVirtualMachineConfiguration([]*vz.VirtioEntropyDeviceConfiguration{dev})
	}
	if d.Balloon {
		dev, err := vz.NewVirtioTraditionalMemoryBalloonDeviceConfiguration()
		if err != nil {
			return nil, links, fmt.Errorf("memory balloon: %w", err)
		}
		cfg.SetMemoryBalloonDevicesVirtualMachineConfiguration([]vz.MemoryBalloonDeviceConfiguration{dev})
	}

	ok, err := cfg.Validate()
	if err != nil {
		return nil, links, explain("validate the machine's configuration", err)
	}
	if !ok {
		return nil, links, errors.New("validate the machine's configuration: Virtualization.framework rejects it and says no more")
	}
	return cfg, links, nil
}

// shareDevices makes one virtiofs device per shared folder, and the
// Rosetta share.
func shareDevices(d Description) ([]vz.DirectorySharingDeviceConfiguration, error) {
	var devs []vz.DirectorySharingDeviceConfiguration
	for _, sh := range d.Shares {
		dir, err := vz.NewSharedDirectory(sh.HostPath, sh.ReadOnly)
		if err != nil {
			return nil, fmt.Errorf("share %s: %w", sh.HostPath, err)
		}
		one, err := vz.NewSingleDirectoryShare(dir)
		if err != nil {
			return nil, fmt.Errorf("share %s: %w", sh.HostPath, err)
		}
		dev, err := vz.NewVirtioFileSystemDeviceConfiguration(sh.Tag)
		if err != nil {
			return nil, fmt.Errorf("share %s: tag %q: %w", sh.HostPath, sh.Tag, err)
		}
		dev.SetDirectoryShare(one)
		devs = append(devs, dev)
	}
	if d.Rosetta {
		share, err := rosettaShare()
		if err != nil {
			return nil, fmt.Errorf("share Rosetta: %w", err)
		}
		dev, err := vz.NewVirtioFileSystemDeviceConfiguration(RosettaTag)
		if err != nil {
			return nil, fmt.Errorf("share Rosetta: %w", err)
		}
		dev.SetDirectoryShare(share)
		devs = append(devs, dev)
	}
	return devs, nil
}

func natDevice(mac string) (*vz.VirtioNetworkDeviceConfiguration, error) {
	hw, err := net.ParseMAC(mac)
	if err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	att, err := vz.NewNATNetworkDeviceAttachment()
	if err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	dev, err := vz.NewVirtioNetworkDeviceConfiguration(att)
	if err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	addr, err := vz.NewMACAddress(hw)
	if err != nil {
		return nil, fmt.Errorf("network: MAC address %s: %w", mac, err)
	}
	dev.SetMACAddress(addr)
	return dev, nil
}

// fileHandleDevice is a virtio-net device whose frames are datagrams on
// a unix socket bound to n.Local and connected to the host daemon's
// stack at n.Stack. The framework uses the descriptor without owning it:
// the returned file must stay open while the VM runs.
func fileHandleDevice(n FileHandleNet) (_ *vz.VirtioNetworkDeviceConfiguration, _ *os.File, err error) {
	hw, err := net.ParseMAC(n.MAC)
	if err != nil {
		return nil, nil, fmt.Errorf("user network: %w", err)
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("user network: socket: %w", err)
	}
	f := os.NewFile(uintptr(fd), n.Local)
	defer func() {
		if err != nil {
			_ = f.Close()
		}
	}()
	_ = os.Remove(n.Local)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: n.Local}); err != nil {
		return nil, nil, fmt.Errorf("user network: bind %s: %w", n.Local, err)
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: n.Stack}); err != nil {
		return nil, nil, fmt.Errorf("user network: connect to the host daemon's stack at %s: %w", n.Stack, err)
	}
	// Frames come in bursts; the defaults (a few KiB) drop them.
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 1<<20)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
	att, err := vz.NewFileHandleNetworkDeviceAttachment(f)
	if err != nil {
		return nil, nil, fmt.Errorf("user network: %w", err)
	}
	dev, err := vz.NewVirtioNetworkDeviceConfiguration(att)
	if err != nil {
		return nil, nil, fmt.Errorf("user network: %w", err)
	}
	addr, err := vz.NewMACAddress(hw)
	if err != nil {
		return nil, nil, fmt.Errorf("user network: MAC address %s: %w", n.MAC, err)
	}
	dev.SetMACAddress(addr)
	return dev, f, nil
}

func blockDevice(b BlockDisk) (*vz.VirtioBlockDeviceConfiguration, error) {
	var att *vz.DiskImageStorageDeviceAttachment
	var err error
	if b.Caching == CachingCached && b.Sync == SyncFsync {
		att, err = vz.NewDiskImageStorageDeviceAttachmentWithCacheAndSync(b.Path, false, vz.DiskImageCachingModeCached, vz.DiskImageSynchronizationModeFsync)
	} else {
		att, err = vz.NewDiskImageStorageDeviceAttachment(b.Path, false)
	}
	if err != nil {
		return nil, fmt.Errorf("data disk %s: %w", b.Path, err)
	}
	dev, err := vz.NewVirtioBlockDeviceConfiguration(att)
	if err != nil {
		return nil, fmt.Errorf("data disk %s: %w", b.Path, err)
	}
	return dev, nil
}

// explain wraps an error of the framework with what failed, and turns
// the ones a user can act on into messages that say what to do.
func explain(what string, err error) error {
	var ns *vz.NSError
	if errors.As(err, &ns) && isEntitlementError(ns.Domain, ns.Code, ns.LocalizedDescription+" "+ns.UserInfo) {
		exe, xerr := os.Executable()
		if xerr != nil {
			exe = "skiff"
		}
		return entitlementError(exe)
	}
	if errors.Is(err, vz.ErrUnsupportedOSVersion) {
		return fmt.Errorf("%s: %w; update macOS, or use --driver qemu", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

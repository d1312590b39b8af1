package hcs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"

	"github.com/skiffrun/skiff/guest/api/wire"
	"github.com/skiffrun/skiff/platform"
)

// Name is the name the driver registers under.
const Name = "hcs"

// Defaults and fixed parts of the machine.
const (
	DefaultCPUs      = 2
	DefaultMemoryMiB = 2048
	// AgentVsockPort is the port the agent dials on the host. An hvsock
	// listener is bound to one VM's ID, so machines do not collide.
	AgentVsockPort = 10000
	// ninePPort is where the guest reaches HCS's Plan 9 server; the agent
	// dials it for each 9p-vsock share.
	ninePPort = 564
	// diskDevice is the data disk as the guest sees it: LUN 0 of the
	// first SCSI controller (hv_storvsc).
	diskDevice = "sda"
	// scsiController names the first SCSI controller. The service takes
	// any GUID; hcsshim's first one is used so that tools that know it
	// find the disk where they expect.
	scsiController = "df6d0690-79e5-55b6-a5ec-c1e2f77f580a"
	// owner is the compute system's owner, shown by hcsdiag list.
	owner = "skiff"
)

// ErrArchNotSupported is returned for a guest architecture the driver
// cannot boot yet.
var ErrArchNotSupported = errors.New("not supported yet")

// Host is what the document depends on besides the spec: the time, the
// user, and the host-side objects Start creates. Tests pass a fixed one.
type Host struct {
	// Now is the host's time at boot.
	Now time.Time
	// UserSID is the SID of the account skiff runs as ("S-1-5-21-…"):
	// the one account besides SYSTEM and Administrators that may listen
	// for the agent on the VM's hvsock.
	UserSID string
	// ConsolePipe is the named pipe of the VM's COM1.
	ConsolePipe string
	// EndpointID and MAC are the HNS endpoint of the VM's network
	// adapter; empty without a network.
	EndpointID string
	MAC        string
}

// Resolve fills in what spec leaves to the driver: sizes, the agent's
// and a user-mode network's vsock ports, share types, and the data disk's file (a VHDX, whatever
// name host/machine chose: HCS opens virtual disks by their extension)
// and device name.
func Resolve(spec platform.MachineSpec) platform.MachineSpec {
	if spec.Arch == "" {
		spec.Arch = "amd64"
	}
	if spec.CPUs == 0 {
		spec.CPUs = DefaultCPUs
	}
	if spec.MemoryMiB == 0 {
		spec.MemoryMiB = DefaultMemoryMiB
	}
	// HCS sizes memory in 2 MiB pages.
	spec.MemoryMiB += spec.MemoryMiB % 2
	if spec.Agent.IsZero() {
		spec.Agent.VsockPort = AgentVsockPort
	}
	// The guest carries a user-mode network's frames over hvsock: HCS
	// attaches no device that a unix socket could back.
	if spec.Network.Mode == platform.NetworkUser && spec.Network.Link.VsockPort == 0 {
		spec.Network.Link.VsockPort = platform.UserNetVsockPort
	}
	shares := make([]platform.Share, len(spec.Shares))
	for i, sh := range spec.Shares {
		if sh.Type == "" {
			sh.Type = platform.Share9PVsock
		}
		shares[i] = sh
	}
	spec.Shares = shares
	if spec.Disk.Path != "" {
		spec.Disk.Path = vhdxPath(spec.Disk.Path)
		spec.Disk.Device = diskDevice
	}
	return spec
}

// vhdxPath is p with its extension replaced by .vhdx.
func vhdxPath(p string) string {
	base := p[strings.LastIndexAny(p, `\/`)+1:]
	if i := strings.LastIndexByte(base, '.'); i > 0 {
		p = p[:len(p)-len(base)+i]
	}
	return p + ".vhdx"
}

// KernelArgs is the guest kernel's command line: the driver's own
// arguments, then platform.GuestArgs, then spec.KernelArgs.
func KernelArgs(spec platform.MachineSpec, h Host) ([]string, error) {
	args := []string{
		// COM1 is the console; the UART's transmit test fails on Hyper-V.
		"8250_core.nr_uarts=1", "8250_core.skip_txen_test=1", "console=ttyS0,115200",
		// vsock must go over Hyper-V's transport (hv_sock): the virtio
		// one, once loaded, would claim the guest-to-host role first.
		"initcall_blacklist=virtio_vsock_init",
		// The VM has no PCI bus, RAM disks or ACPI PM timer; probing for
		// them costs boot time.
		"pci=off", "brd.rd_nr=0", "pmtmr=0",
		"nr_cpus=" + strconv.Itoa(spec.CPUs),
		"panic=-1",
		// The VM has no entropy device; skiff's kernel credits neither
		// the CPU's RDRAND nor the seed Hyper-V hands over in its ACPI
		// table unless told, and the first read of crypto/rand would wait
		// for the random pool.
		"random.trust_cpu=on", "random.trust_bootloader=on",
	}
	if !spec.Debug {
		args = append(args, "quiet")
	}
	// The devices are on VMBus: its drivers load first.
	guest, err := platform.GuestArgs(spec, h.Now, wire.BusVMBus)
	if err != nil {
		return nil, err
	}
	args = append(args, guest...)
	return append(args, spec.KernelArgs...), nil
}

// Document translates a resolved, valid spec into the compute-system
// document for HcsCreateComputeSystem.
func Document(spec platform.MachineSpec, h Host) (*ComputeSystem, error) {
	if spec.Arch != "amd64" {
		return nil, fmt.Errorf("hcs: %s guests: %w: Windows boots Linux directly only on x64, and the UEFI boot that Windows on Arm needs is not done; use an x64 Windows host: %w",
			spec.Arch, ErrArchNotSupported, errdefs.ErrNotImplemented)
	}
	if spec.Agent.VsockPort == 0 {
		return nil, fmt.Errorf("hcs: the agent needs a vsock port: %w", errdefs.ErrInvalidArgument)
	}
	// The host listens on hvsock for the agent, and for the guest's
	// network link on a user-mode network.
	ports := []uint32{spec.Agent.VsockPort}
	if spec.Network.Mode == platform.NetworkUser {
		if spec.Network.Link.VsockPort == 0 {
			return nil, fmt.Errorf("hcs: the user-mode network needs a vsock port: %w", errdefs.ErrInvalidArgument)
		}
		ports = append(ports, spec.Network.Link.VsockPort)
	}
	dev := &Devices{
		HvSocket: &HvSocket2{HvSocketConfig: hvSocketConfig(h.UserSID, ports...)},
		// The Plan 9 server exists even with no shares, so that shares
		// can be added while the machine runs.
		Plan9: &Plan9{},
	}
	if h.ConsolePipe != "" {
		// "0" is COM1, the guest's ttyS0.
		dev.ComPorts = map[string]ComPort{"0": {NamedPipe: h.ConsolePipe}}
	}
	if spec.Disk.Path != "" {
		dev.Scsi = map[string]Scsi{scsiController: {Attachments: map[string]Attachment{
			"0": {Type: "VirtualDisk", Path: spec.Disk.Path},
		}}}
	}
	for _, sh := range spec.Shares {
		if sh.Type != platform.Share9PVsock {
			return nil, fmt.Errorf("hcs: share %s: HCS serves only 9p-vsock shares, not %s: %w", sh.HostPath, sh.Type, errdefs.ErrInvalidArgument)
		}
		dev.Plan9.Shares = append(dev.Plan9.Shares, plan9Share(sh))
	}
	switch spec.Network.Mode {
	case platform.NetworkNAT:
		if h.EndpointID == "" {
			return nil, fmt.Errorf("hcs: a NAT network needs an HNS endpoint: %w", errdefs.ErrInvalidArgument)
		}
		dev.NetworkAdapters = map[string]NetworkAdapter{h.EndpointID: {EndpointID: h.EndpointID, MacAddress: h.MAC}}
	case "", platform.NetworkNone, platform.NetworkUser:
		// A user-mode network has no adapter: the agent makes eth0 a TAP
		// device whose frames it sends to the host's hvsock port, which
		// the driver relays to the stack (RelayUserNetwork).
	}
	kargs, err := KernelArgs(spec, h)
	if err != nil {
		return nil, err
	}
	return &ComputeSystem{
		Owner:                             owner,
		SchemaVersion:                     &Version{Major: 2, Minor: 1},
		ShouldTerminateOnLastHandleClosed: true, // the VM dies with the daemon
		VirtualMachine: &VirtualMachine{
			StopOnReset: true,
			Chipset: &Chipset{LinuxKernelDirect: &LinuxKernelDirect{
				KernelFilePath: spec.Kernel,
				InitRdPath:     spec.Initrd,
				KernelCmdLine:  strings.Join(kargs, " "),
			}},
			ComputeTopology: &Topology{
				Memory: &VirtualMachineMemory{
					SizeInMB:              uint64(spec.MemoryMiB),
					AllowOvercommit:       true,
					EnableDeferredCommit:  true,
					EnableColdDiscardHint: true,
				},
				Processor: &VirtualMachineProcessor{Count: uint32(spec.CPUs)},
			},
			Devices: dev,
		},
	}, nil
}

// hvSocketConfig lets SYSTEM, Administrators and the user bind the
// services of ports, which the guest dials (the agent's, the network
// link's); nothing else is served.
func hvSocketConfig(userSID string, ports ...uint32) *HvSocketSystemConfig {
	admins := "D:P(A;;FA;;;SY)(A;;FA;;;BA)"
	owner := admins
	if userSID != "" {
		owner += "(A;;FA;;;" + userSID + ")"
	}
	table := make(map[string]HvSocketServiceConfig, len(ports))
	for _, p := range ports {
		table[VsockServiceID(p)] = HvSocketServiceConfig{BindSecurityDescriptor: owner}
	}
	return &HvSocketSystemConfig{DefaultBindSecurityDescriptor: admins, ServiceTable: table}
}

// VsockServiceID is the hvsock service GUID of vsock port port, the
// mapping Linux's hv_sock uses.
func VsockServiceID(port uint32) string {
	return fmt.Sprintf("%08x-facb-11e6-bd58-64006a7986d3", port)
}

func plan9Share(sh platform.Share) Plan9Share {
	flags := int32(plan9LinuxMetadata)
	if sh.ReadOnly {
		flags |= plan9ReadOnly
	}
	return Plan9Share{Name: sh.Tag, AccessName: sh.Tag, Path: sh.HostPath, Port: ninePPort, Flags: flags}
}

package hcs

// The types below are the parts of the HCS v2 schema that skiff uses.
// Their field names and JSON shape follow hcsshim's internal/hcs/schema2
// (github.com/Microsoft/hcsshim, MIT License, Copyright (c) 2015 Microsoft),
// which mirrors the service's own schema; only the fields skiff sets are
// kept.

// ComputeSystem is the document HcsCreateComputeSystem takes.
type ComputeSystem struct {
	Owner                             string          `json:"Owner,omitempty"`
	SchemaVersion                     *Version        `json:"SchemaVersion,omitempty"`
	VirtualMachine                    *VirtualMachine `json:"VirtualMachine,omitempty"`
	ShouldTerminateOnLastHandleClosed bool            `json:"ShouldTerminateOnLastHandleClosed,omitempty"`
}

// Version is a schema version.
type Version struct {
	Major int32 `json:"Major,omitempty"`
	Minor int32 `json:"Minor,omitempty"`
}

// VirtualMachine describes a utility VM.
type VirtualMachine struct {
	// StopOnReset makes a guest reboot a stop, so that the kernel's
	// panic=-1 ends the machine instead of looping.
	StopOnReset     bool      `json:"StopOnReset,omitempty"`
	Chipset         *Chipset  `json:"Chipset,omitempty"`
	ComputeTopology *Topology `json:"ComputeTopology,omitempty"`
	Devices         *Devices  `json:"Devices,omitempty"`
}

// Chipset is how the VM boots.
type Chipset struct {
	LinuxKernelDirect *LinuxKernelDirect `json:"LinuxKernelDirect,omitempty"`
}

// LinuxKernelDirect boots a Linux kernel and initramfs with no firmware
// (Windows 10 1809 and later, x64 only).
type LinuxKernelDirect struct {
	KernelFilePath string `json:"KernelFilePath,omitempty"`
	InitRdPath     string `json:"InitRdPath,omitempty"`
	KernelCmdLine  string `json:"KernelCmdLine,omitempty"`
}

// Topology sizes the VM.
type Topology struct {
	Memory    *VirtualMachineMemory    `json:"Memory,omitempty"`
	Processor *VirtualMachineProcessor `json:"Processor,omitempty"`
}

// VirtualMachineMemory is the VM's memory.
type VirtualMachineMemory struct {
	SizeInMB uint64 `json:"SizeInMB,omitempty"`
	// AllowOvercommit backs the guest's memory with the host's pagefile,
	// so an idle machine costs only what it touched.
	AllowOvercommit      bool `json:"AllowOvercommit,omitempty"`
	EnableDeferredCommit bool `json:"EnableDeferredCommit,omitempty"`
	// EnableColdDiscardHint lets the guest's Hyper-V balloon driver
	// report the pages it has freed (free page reporting, in 2 MiB
	// blocks), and the host discards them: the memory a container touched
	// goes back to Windows once it exits.
	EnableColdDiscardHint bool `json:"EnableColdDiscardHint,omitempty"`
}

// VirtualMachineProcessor is the VM's virtual CPUs.
type VirtualMachineProcessor struct {
	Count uint32 `json:"Count,omitempty"`
}

// Devices are the VM's devices.
type Devices struct {
	ComPorts        map[string]ComPort        `json:"ComPorts,omitempty"`
	Scsi            map[string]Scsi           `json:"Scsi,omitempty"`
	NetworkAdapters map[string]NetworkAdapter `json:"NetworkAdapters,omitempty"`
	HvSocket        *HvSocket2                `json:"HvSocket,omitempty"`
	Plan9           *Plan9                    `json:"Plan9,omitempty"`
}

// ComPort is a serial port whose other end is a named pipe, which the VM
// worker process serves.
type ComPort struct {
	NamedPipe string `json:"NamedPipe,omitempty"`
}

// Scsi is a SCSI controller; Attachments are keyed by LUN.
type Scsi struct {
	Attachments map[string]Attachment `json:"Attachments,omitempty"`
}

// Attachment is a disk on a SCSI controller.
type Attachment struct {
	Type     string `json:"Type,omitempty"`
	Path     string `json:"Path,omitempty"`
	ReadOnly bool   `json:"ReadOnly,omitempty"`
}

// NetworkAdapter connects the VM to an HNS endpoint.
type NetworkAdapter struct {
	EndpointID string `json:"EndpointId,omitempty"`
	MacAddress string `json:"MacAddress,omitempty"`
}

// HvSocket2 is the VM's hvsock configuration.
type HvSocket2 struct {
	HvSocketConfig *HvSocketSystemConfig `json:"HvSocketConfig,omitempty"`
}

// HvSocketSystemConfig says which host accounts may bind (listen for the
// guest) and connect to hvsock services of this VM.
type HvSocketSystemConfig struct {
	DefaultBindSecurityDescriptor    string                           `json:"DefaultBindSecurityDescriptor,omitempty"`
	DefaultConnectSecurityDescriptor string                           `json:"DefaultConnectSecurityDescriptor,omitempty"`
	ServiceTable                     map[string]HvSocketServiceConfig `json:"ServiceTable,omitempty"`
}

// HvSocketServiceConfig overrides the defaults for one service ID.
type HvSocketServiceConfig struct {
	BindSecurityDescriptor    string `json:"BindSecurityDescriptor,omitempty"`
	ConnectSecurityDescriptor string `json:"ConnectSecurityDescriptor,omitempty"`
	AllowWildcardBinds        bool   `json:"AllowWildcardBinds,omitempty"`
}

// Plan9 is the VM's Plan 9 file server, reached from the guest over
// vsock.
type Plan9 struct {
	Shares []Plan9Share `json:"Shares,omitempty"`
}

// Plan9Share is one host folder the Plan 9 server offers; the guest names
// it with the aname AccessName.
type Plan9Share struct {
	Name       string `json:"Name,omitempty"`
	AccessName string `json:"AccessName,omitempty"`
	Path       string `json:"Path,omitempty"`
	Port       int32  `json:"Port,omitempty"`
	Flags      int32  `json:"Flags,omitempty"`
}

// Plan 9 share flags.
const (
	plan9ReadOnly      = 0x00000001
	plan9LinuxMetadata = 0x00000004
)

// Properties is the part of HcsGetComputeSystemProperties' answer that
// skiff reads.
type Properties struct {
	ID        string `json:"Id,omitempty"`
	RuntimeID string `json:"RuntimeId,omitempty"`
	State     string `json:"State,omitempty"`
	Stopped   bool   `json:"Stopped,omitempty"`
	ExitType  string `json:"ExitType,omitempty"`
}

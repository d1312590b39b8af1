// Package vz is the machine driver that boots the guest image with
// Apple's Virtualization.framework (through github.com/Code-Hex/vz/v3) on
// macOS: arm64 guests on Apple silicon, amd64 guests on Intel Macs.
//
// The decisions are plain data that compile and are tested on every OS:
// Resolve fills in what a platform.MachineSpec leaves to the driver, and
// Describe turns the spec and what the host offers (its macOS version,
// the framework's CPU and memory limits, Rosetta) into a Description: the
// boot loader and command line, the devices, and every problem a user
// can fix before a VM is created. The darwin files only translate a
// Description into vz objects, run the VM in the calling process (the
// host daemon, which host/machine keeps alive for the machine's life),
// and hand out the agent's vsock connections. Speaking the handshake and
// yamux on them is left to host/machine.
//
// The binary must be signed with the com.apple.security.virtualization
// entitlement (make sign-darwin) and built with cgo; a build without cgo
// registers a driver whose every start says so.
package vz

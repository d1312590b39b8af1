// Package hcs is the machine driver for Windows: it boots the guest image
// as a Hyper-V utility VM through the Host Compute Service, calling
// computecore.dll directly (no public hcsshim package creates one). It
// translates a platform.MachineSpec into an HCS v2 compute-system document
// (kernel direct boot, a SCSI VHDX data disk, HvSocket, Plan 9 shares, a
// named-pipe COM port, a NAT network adapter), creates the disk and the
// HNS network endpoint the document names, starts the VM, drains its
// console into the machine's log, and hands out the agent's connection:
// the agent dials the host over hvsock, where the driver listens. On the
// user-mode network the guest dials hvsock for its frames too, and the
// driver relays each such link onto the stack's stream socket. Owning
// the VM for its lifetime and speaking the handshake and yamux on that
// connection are left to host/machine's daemon.
//
// The document, the kernel command line, the network relay and the
// translation of HCS errors into advice are plain functions that compile
// and are tested on every OS; everything that calls Windows is in
// _windows.go files.
package hcs

// Package tapfwd carries a machine's Ethernet frames to the host over a
// stream, for a user-mode network whose hypervisor attaches no network
// device (HCS, where the frames go over hvsock): it makes eth0 a TAP
// device and copies each frame both ways between the device and a
// connection to the host, each after its length in 4 big-endian bytes
// (QEMU's stream netdev framing, which the host's stack reads), dialling
// again whenever the connection drops. Addressing eth0 and the host's
// end are left to others (guest/machine, platform/hcs).
//
// The framing and the forwarding build on every OS; making the TAP
// device is Linux only.
package tapfwd

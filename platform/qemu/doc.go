// Package qemu is the machine driver that boots the guest image under
// QEMU: microvm on amd64, virt on arm64, with KVM when a trial boot shows it
// really works, else TCG. It translates a platform.MachineSpec into a QEMU
// command line (plus one virtiofsd per shared folder), runs those
// processes, and hands out the raw channel to the agent: the host end of
// a virtio-serial port (a unix socket) or a vsock listener. Speaking the
// handshake and yamux on that channel, and owning the VM for its lifetime,
// is left to host/machine's daemon. It builds on Linux and macOS; on
// macOS, which has no vhost-vsock and no virtiofsd, it uses virtio-serial
// and 9p.
package qemu

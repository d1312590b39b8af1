// Package machine makes skiff-agent the init of skiff's Linux VM: as PID 1
// it makes a bind mount of the initramfs its root (so containers can
// pivot_root), mounts the kernel filesystems (skiff's kernel has every
// driver built in, so there are no modules to load), reaps orphans and powers the VM off when the agent ends. The agent
// process it starts reads the kernel command line, sets the clock, formats
// and mounts the data disk, configures the network (first making eth0 a
// TAP device forwarded to the host over vsock, when the command line
// names a port for it: guest/tapfwd), mounts the shared
// folders, and serves the agent's gRPC API to the host over one yamux
// session on vsock or a virtio-serial port, dialling again whenever the
// connection drops. Running containers is left to guest/agent.
//
// Only the parts that decide (command line, handshake, share
// mount options) build on every OS; the rest is Linux only.
package machine

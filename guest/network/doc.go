// Package network gives containers their networks in the machine: Linux
// bridges with a veth per container moved into the container's network
// namespace, addresses from a small IPAM persisted with each network,
// NAT out through the machine's uplink in an nftables table of skiff's
// own, /etc/hosts files that name the peers on user networks, and the
// published ports of each container (through a Publisher). Running
// processes in those namespaces is left to guest/container and the
// runtime; carrying host connections to the machine, to the host daemon.
package network

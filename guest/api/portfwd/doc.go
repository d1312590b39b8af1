// Package portfwd listens on published ports and carries what arrives to
// where it goes, for both ends of skiff: the native agent, which listens
// on the host itself and dials into a container's network namespace, and
// the host daemon of a VM, which listens on the user's machine and dials
// through a session stream into the VM (DialForward), at whose far end
// the agent takes the stream over (ServeForward). Each side gives only
// its dial function; the TCP accept loop, the UDP flows and their idle
// expiry, the tracking that closes every connection with its port, the
// "port in use" error and the default address (DefaultHostIP) are here,
// once. Deciding which ports a container publishes is guest/network's;
// owning the session, host/machine's and guest/machine's.
package portfwd

// Package publish carries connections from published host ports to
// containers: Local listens on the ports itself (the native driver, whose
// agent runs on the host) and proxies TCP connections and UDP flows to
// the container's address; ProxyTCP and ProxyUDP do the same for one
// connection handed over by the host daemon of a VM. Deciding which ports
// a container publishes is guest/network's.
package publish

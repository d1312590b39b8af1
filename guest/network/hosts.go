package network

import (
	"net/netip"
	"sort"
	"strings"
)

// hostEntry is one line of a hosts file: an address and its names.
type hostEntry struct {
	Addr  netip.Addr
	Names []string
}

const localhostLines = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
	"fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"

// HostNames are the names by which every container reaches the host
// (Docker Desktop's name, and skiff's own).
var HostNames = []string{"host.docker.internal", "host.skiff.internal"}

// HostsFile is the /etc/hosts of a container without a network of its
// own (host, none): localhost, the --add-host items, and HostNames at
// host (when valid), the address at which it reaches the host.
func HostsFile(extra []string, host netip.Addr) []byte {
	return hostsFile(hostEntry{}, extra, host, nil)
}

// hostsFile renders a container's /etc/hosts: localhost, the container's
// own address and hostname, --add-host items (host-gateway meaning host,
// the address at which it reaches the host), HostNames at host, then its
// peers by name. Docker answers peer names from a DNS server in the
// container; skiff writes them here and rewrites the file whenever a
// peer comes or goes, which every resolver reads without a server. An
// --add-host item comes before HostNames, so that it wins.
func hostsFile(self hostEntry, extra []string, host netip.Addr, peers []hostEntry) []byte {
	var b strings.Builder
	b.WriteString(localhostLines)
	if self.Addr.IsValid() && len(self.Names) > 0 {
		b.WriteString(self.Addr.String() + "\t" + strings.Join(self.Names, " ") + "\n")
	}
	for _, h := range extra {
		name, ip, ok := strings.Cut(h, ":")
		if !ok {
			continue
		}
		if ip == "host-gateway" {
			if !host.IsValid() {
				continue
			}
			ip = host.String()
		}
		b.WriteString(ip + "\t" + name + "\n")
	}
	if host.IsValid() {
		b.WriteString(host.String() + "\t" + strings.Join(HostNames, " ") + "\n")
	}
	sort.Slice(peers, func(i, j int) bool { return peers[i].Names[0] < peers[j].Names[0] })
	for _, p := range peers {
		b.WriteString(p.Addr.String() + "\t" + strings.Join(p.Names, " ") + "\n")
	}
	return []byte(b.String())
}

// HostAddress is the address at which a container without a network of
// its own reaches the host: the machine's host-loopback address, or on
// the native agent the default network's gateway (an address of the
// host, as docker's host-gateway is docker0's).
func (m *Manager) HostAddress() netip.Addr {
	if m.cfg.HostLoopback.IsValid() {
		return m.cfg.HostLoopback
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, err := m.find(DefaultName); err == nil {
		return r.Pool.Gateway
	}
	return netip.Addr{}
}

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

// hostsFile renders a container's /etc/hosts: localhost, the container's
// own address and hostname, --add-host items (host-gateway meaning the
// gateway of its first network), then its peers by name. Docker answers
// peer names from a DNS server in the container; skiff writes them here
// and rewrites the file whenever a peer comes or goes, which every
// resolver reads without a server.
func hostsFile(self hostEntry, extra []string, gateway netip.Addr, peers []hostEntry) []byte {
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
			if !gateway.IsValid() {
				continue
			}
			ip = gateway.String()
		}
		b.WriteString(ip + "\t" + name + "\n")
	}
	sort.Slice(peers, func(i, j int) bool { return peers[i].Names[0] < peers[j].Names[0] })
	for _, p := range peers {
		b.WriteString(p.Addr.String() + "\t" + strings.Join(p.Names, " ") + "\n")
	}
	return []byte(b.String())
}

package machine

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/skiffrun/skiff/guest/api/wire"
	"github.com/skiffrun/skiff/host/pathmap"
	"github.com/skiffrun/skiff/platform"
)

// AgentPath returns where the machine's agent finds the host folder or
// file hostPath, for a bind mount: the path itself with a driver that
// runs the agent on the host, else its guest path when it lies inside one
// of the machine's shared folders (host/pathmap words the errors).
func (m *Machine) AgentPath(hostPath string) (string, error) {
	d, err := platform.Lookup(m.spec.Driver)
	if err != nil {
		return "", err
	}
	if _, detached := d.(platform.Detached); detached {
		abs, err := filepath.Abs(hostPath)
		if err != nil {
			return "", fmt.Errorf("resolve %s: %w", hostPath, err)
		}
		return abs, nil
	}
	c, err := m.Config()
	if err != nil {
		return "", err
	}
	configured := shares(append(defaultShares(), c.Shares...))
	// A running machine has the shares it started with; the configuration
	// may have gained some since.
	st := m.readState()
	up := st.Status == Running || st.Status == Starting
	running := configured
	if up {
		running = pathmap.Running(configured, st.Shares)
	}
	return pathmap.Shares{Machine: m.spec.Name, Running: running, Configured: configured, Up: up, Sockets: m.sockets()}.AgentPath(hostPath)
}

// sockets are the host paths a VM's container binds to reach the
// machine's Docker API: /var/run/docker.sock, as docker's own, and the
// host's socket of the machine, which lies in no share. Both bind the
// socket the agent serves inside the machine. With a driver that runs
// the agent on the host, the host's socket of the machine is a plain
// bind of the real socket and needs no entry.
func (m *Machine) sockets() map[string]string {
	out := map[string]string{wire.DockerSocket: wire.DockerSocket, m.DockerSocket(): wire.DockerSocket}
	if resolved, err := filepath.EvalSymlinks(m.DockerSocket()); err == nil {
		out[resolved] = wire.DockerSocket
	}
	return out
}

// defaultShares are the user's home and temp folders (DESIGN.md,
// decision 4).
func defaultShares() []Mount {
	var out []Mount
	if h, err := os.UserHomeDir(); err == nil {
		out = append(out, Mount{Path: h})
	}
	return append(out, Mount{Path: os.TempDir()})
}

// shares turns mounts into the spec's shares, with stable tags, skipping
// duplicates and folders that do not exist.
func shares(ms []Mount) []platform.Share {
	var out []platform.Share
	seen := map[string]int{}
	for _, mt := range ms {
		p := filepath.Clean(mt.Path)
		if st, err := os.Stat(p); err != nil || !st.IsDir() {
			continue
		}
		if i, ok := seen[p]; ok {
			out[i].ReadOnly = mt.ReadOnly
			continue
		}
		seen[p] = len(out)
		out = append(out, platform.Share{
			HostPath: p, Tag: fmt.Sprintf("share%d", len(out)), GuestPath: platform.GuestPath(p), ReadOnly: mt.ReadOnly,
		})
	}
	return out
}

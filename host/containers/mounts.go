package containers

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/api/wire"
	"github.com/skiffrun/skiff/host/opts"
)

// AgentPath maps a host path to the path the agent mounts for it, or
// fails saying how to make it reachable (a folder not shared with the
// machine).
type AgentPath func(hostPath string) (string, error)

// mounts parses -v and --mount into cfg and hc: anonymous volumes into
// cfg.Volumes, tmpfs mounts into hc.Tmpfs, binds and named volumes into
// hc.Mounts. A -v bind of a missing host folder creates it, as docker
// does; a --mount bind of one is an error.
func (o *CreateOptions) mounts(cfg *apiv1.ContainerConfig, hc *apiv1.HostConfig) error {
	seen := map[string]bool{}
	dup := func(flag, v, target string) error {
		if seen[target] {
			return opts.Invalid(flag, v, "duplicate mount point %s; mount one thing at each path", target)
		}
		seen[target] = true
		return nil
	}
	for _, t := range hc.Tmpfs {
		seen[tmpfsTarget(t)] = true
	}
	var binds []*apiv1.Mount
	// missing are -v folders to make once every bind is known reachable.
	var missing []string
	for _, v := range o.Volumes {
		m, err := opts.Volume("volume", v)
		if err != nil {
			return err
		}
		if err := dup("volume", v, m.Target); err != nil {
			return err
		}
		if m.Type == opts.MountVolume && m.Source == "" {
			cfg.Volumes = append(cfg.Volumes, m.Target)
			continue
		}
		if m.Type == opts.MountBind {
			if _, err := os.Stat(m.HostSource); errors.Is(err, fs.ErrNotExist) && !dockerSocket(m.HostSource) {
				missing = append(missing, m.HostSource)
			}
			binds = append(binds, m)
		}
		hc.Mounts = append(hc.Mounts, m)
	}
	for _, v := range o.Mounts {
		m, tmpfs, err := opts.MountSpec("mount", v)
		if err != nil {
			return err
		}
		if tmpfs != "" {
			if err := dup("mount", v, tmpfsTarget(tmpfs)); err != nil {
				return err
			}
			hc.Tmpfs = append(hc.Tmpfs, tmpfs)
			continue
		}
		if err := dup("mount", v, m.Target); err != nil {
			return err
		}
		if m.Type == opts.MountBind {
			if _, err := os.Stat(m.HostSource); err != nil && !dockerSocket(m.HostSource) {
				return opts.Invalid("mount", v, "bind source path does not exist: %s; create it first, or use -v, which creates it", m.HostSource)
			}
			binds = append(binds, m)
		}
		hc.Mounts = append(hc.Mounts, m)
	}
	for _, m := range binds {
		if o.AgentPath == nil {
			m.Source = m.HostSource
			continue
		}
		p, err := o.AgentPath(m.HostSource)
		if err != nil {
			return err
		}
		m.Source = p
	}
	for _, dir := range missing {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create the host folder %s for -v: %w", dir, err)
		}
	}
	return nil
}

// dockerSocket reports whether a bind's host path is docker's socket,
// /var/run/docker.sock, which a VM machine has inside itself
// (host/pathmap binds that one): the host may have none, and -v must not
// make a folder there.
func dockerSocket(hostPath string) bool {
	return path.Clean(filepath.ToSlash(hostPath)) == wire.DockerSocket
}

func tmpfsTarget(t string) string {
	target, _, _ := strings.Cut(t, ":")
	return path.Clean(target)
}

// InspectMount is one of docker's "Mounts" in container inspect.
type InspectMount struct {
	Type        string
	Name        string `json:",omitempty"`
	Source      string
	Destination string
	Driver      string `json:",omitempty"`
	Mode        string
	RW          bool
	Propagation string
}

// inspectMounts shapes a container's mount points as docker's: a bind
// shows its host path, a volume its folder in the machine.
func inspectMounts(mps []*apiv1.MountPoint) []InspectMount {
	out := []InspectMount{}
	for _, mp := range mps {
		src := mp.GetSource()
		if mp.GetType() == opts.MountBind && mp.GetHostSource() != "" {
			src = mp.GetHostSource()
		}
		out = append(out, InspectMount{
			Type: mp.GetType(), Name: mp.GetName(), Source: src, Destination: mp.GetDestination(),
			Driver: mp.GetDriver(), Mode: mp.GetMode(), RW: mp.GetRw(), Propagation: mp.GetPropagation(),
		})
	}
	return out
}

package machine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"

	"github.com/skiffrun/skiff/platform"
)

// AgentPath returns where the machine's agent finds the host folder or
// file hostPath, for a bind mount: the path itself with a driver that
// runs the agent on the host, else its guest path when it lies inside one
// of the machine's shared folders. A path outside every share, or inside
// one added since the running machine started, is an error that names
// the fix.
func (m *Machine) AgentPath(hostPath string) (string, error) {
	abs, err := filepath.Abs(hostPath)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", hostPath, err)
	}
	d, err := platform.Lookup(m.spec.Driver)
	if err != nil {
		return "", err
	}
	if _, detached := d.(platform.Detached); detached {
		return abs, nil
	}
	c, err := m.Config()
	if err != nil {
		return "", err
	}
	configured := shares(append(defaultShares(), c.Shares...))
	// A running machine has the shares it started with; the configuration
	// may have gained some since.
	running := configured
	st := m.readState()
	up := st.Status == Running || st.Status == Starting
	if up {
		if st.Shares != nil {
			running = nil
			for _, sh := range configured {
				if containsPath(st.Shares, sh.HostPath) {
					running = append(running, sh)
				}
			}
		}
	}
	candidates := []string{abs}
	if resolved, err := filepath.EvalSymlinks(abs); err == nil && resolved != abs {
		candidates = append(candidates, resolved)
	}
	for _, p := range candidates {
		if shareOf(running, p) {
			return platform.GuestPath(p), nil
		}
	}
	for _, p := range candidates {
		if shareOf(configured, p) {
			return "", errorf(errdefs.ErrFailedPrecondition, "%s is shared with machine %q from its next start; restart it with skiff machine stop (the next command starts it again)", abs, m.spec.Name)
		}
	}
	restart := ""
	if up {
		restart = ", then restart the machine with skiff machine stop (the next command starts it again)"
	}
	return "", errorf(errdefs.ErrFailedPrecondition, "%s is not shared with machine %q; add it with skiff machine set --share %s%s", abs, m.spec.Name, shareSuggestion(abs), restart)
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// shareSuggestion is the folder to share for path: the path itself when
// it is a folder, else its parent.
func shareSuggestion(p string) string {
	if isDir(p) {
		return p
	}
	return filepath.Dir(p)
}

// shareOf reports whether one of shares holds p.
func shareOf(shares []platform.Share, p string) bool {
	for _, sh := range shares {
		if within(sh.HostPath, p) {
			return true
		}
	}
	return false
}

func containsPath(paths []string, p string) bool {
	for _, q := range paths {
		if filepath.Clean(q) == filepath.Clean(p) {
			return true
		}
	}
	return false
}

// within reports whether p is dir or below it.
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

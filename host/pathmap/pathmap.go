// Package pathmap translates a host path into the path a machine's agent
// finds it at: inside one of the machine's shared folders, at the guest
// path platform.GuestPath derives from it. It tells apart a path the
// running machine shares, one shared only from the machine's next start,
// and one outside every share, and words each error with its fix. Which
// folders are shared, configured or running, is the machine's to say
// (host/machine); mounting them is the driver's and the agent's.
package pathmap

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"

	"github.com/skiffrun/skiff/guest/api/errclass"
	"github.com/skiffrun/skiff/platform"
)

// Shares are the folders a machine shares.
type Shares struct {
	// Machine names the machine in error messages.
	Machine string
	// Running are the shares the machine has now; Configured, those it
	// gets at its next start. For a stopped machine they are the same.
	Running, Configured []platform.Share
	// Up reports whether the machine runs (or is starting), so that a
	// share added now needs a restart.
	Up bool
	// Sockets are host paths that stand for a socket inside the machine
	// rather than a shared file, keyed by host path: the machine's docker
	// socket, which a container bind-mounts to reach the machine's Docker
	// API, as /var/run/docker.sock or as the host's socket of the machine
	// (which lies in no share).
	Sockets map[string]string
}

// Running keeps the shares of configured whose host paths the running
// machine shares (as its state recorded them); nil paths keep them all.
func Running(configured []platform.Share, paths []string) []platform.Share {
	if paths == nil {
		return configured
	}
	var out []platform.Share
	for _, sh := range configured {
		if containsPath(paths, sh.HostPath) {
			out = append(out, sh)
		}
	}
	return out
}

// AgentPath returns the guest path of hostPath (made absolute, and tried
// as given and with its symlinks resolved) when a running share holds
// it. A path shared only from the next start, or outside every share, is
// a failed-precondition error that names the fix.
func (s Shares) AgentPath(hostPath string) (string, error) {
	abs, err := filepath.Abs(hostPath)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", hostPath, err)
	}
	candidates := []string{abs}
	if resolved, err := filepath.EvalSymlinks(abs); err == nil && resolved != abs {
		candidates = append(candidates, resolved)
	}
	// A slash path as given (/var/run/docker.sock on Windows) names the
	// socket too.
	if guest, ok := s.Sockets[path.Clean(filepath.ToSlash(hostPath))]; ok && path.IsAbs(filepath.ToSlash(hostPath)) {
		return guest, nil
	}
	for _, p := range candidates {
		if guest, ok := s.Sockets[p]; ok {
			return guest, nil
		}
	}
	for _, p := range candidates {
		if shareOf(s.Running, p) {
			return platform.GuestPath(p), nil
		}
	}
	for _, p := range candidates {
		if shareOf(s.Configured, p) {
			return "", errclass.Errorf(errdefs.ErrFailedPrecondition, "%s is shared with machine %q from its next start; restart it with skiff machine stop (the next command starts it again)", abs, s.Machine)
		}
	}
	restart := ""
	if s.Up {
		restart = ", then restart the machine with skiff machine stop (the next command starts it again)"
	}
	return "", errclass.Errorf(errdefs.ErrFailedPrecondition, "%s is not shared with machine %q; add it with skiff machine set --share %s%s", abs, s.Machine, suggestion(abs), restart)
}

// suggestion is the folder to share for p: p itself when it is a folder,
// else its parent.
func suggestion(p string) string {
	if st, err := os.Stat(p); err == nil && st.IsDir() {
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

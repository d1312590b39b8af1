package machine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/containerd/errdefs"

	"github.com/skiffrun/skiff/guest/api/errclass"
)

// agentName is the agent's executable name. The agent is a Linux program,
// so it has no .exe even when the CLI runs on Windows.
const agentName = "skiff-agent"

// findAgent locates skiff-agent: $SKIFF_AGENT, else beside the running
// skiff (symlinks resolved, so an installed link still finds its build
// directory), else on $PATH.
func findAgent() (string, error) {
	if p := os.Getenv("SKIFF_AGENT"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", fmt.Errorf("SKIFF_AGENT=%s: %w", p, err)
		}
		if _, err := os.Stat(abs); err != nil {
			return "", fmt.Errorf("SKIFF_AGENT=%s, but %w; point SKIFF_AGENT at a skiff-agent binary, or unset it", p, err)
		}
		return abs, nil
	}
	var beside string
	if exe, err := os.Executable(); err == nil {
		if resolved, err := filepath.EvalSymlinks(exe); err == nil {
			exe = resolved
		}
		beside = filepath.Join(filepath.Dir(exe), agentName)
		if st, err := os.Stat(beside); err == nil && !st.IsDir() {
			return beside, nil
		}
	}
	if p, err := exec.LookPath(agentName); err == nil {
		return filepath.Abs(p)
	}
	where := "on $PATH"
	if beside != "" {
		where = fmt.Sprintf("at %s or on $PATH", beside)
	}
	return "", errclass.Errorf(errdefs.ErrNotFound, "%s not found %s; build it (make agent) and put it beside skiff, or set SKIFF_AGENT to its path", agentName, where)
}

// seedImages returns the image archives that ship beside the agent for
// this architecture: images/NAME-GOARCH.tar, which the build produces.
func seedImages(agent string) ([]string, error) {
	if resolved, err := filepath.EvalSymlinks(agent); err == nil {
		agent = resolved
	}
	dir := filepath.Join(filepath.Dir(agent), "images")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list seed images: %w", err)
	}
	var out []string
	suffix := "-" + runtime.GOARCH + ".tar"
	for _, e := range entries {
		if name := e.Name(); !e.IsDir() && len(name) > len(suffix) && strings.HasSuffix(name, suffix) {
			out = append(out, filepath.Join(dir, name))
		}
	}
	sort.Strings(out)
	return out, nil
}

// Package compose runs docker compose, the reference implementation that
// make builds and ships beside skiff as a plugin binary, against a
// machine's Docker API socket. It finds the binary and runs it with
// DOCKER_HOST pointing at the machine; serving that socket is left to
// host/dockerapi, and starting the machine to host/machine.
package compose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/containerd/errdefs"

	"github.com/skiffrun/skiff/guest/api/errclass"
)

// PluginName is the compose binary's name beside skiff.
const PluginName = "docker-compose"

// pluginFile is PluginName as a file on this OS.
func pluginFile() string {
	if runtime.GOOS == "windows" {
		return PluginName + ".exe"
	}
	return PluginName
}

// Find locates the compose binary: $SKIFF_COMPOSE, else beside the
// running skiff (symlinks resolved, so an installed link still finds its
// build directory). A docker-compose on $PATH is not used: it may be
// another implementation or version than the one skiff ships and tests.
func Find() (string, error) {
	if p := os.Getenv("SKIFF_COMPOSE"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", fmt.Errorf("SKIFF_COMPOSE=%s: %w", p, err)
		}
		if _, err := os.Stat(abs); err != nil {
			return "", fmt.Errorf("SKIFF_COMPOSE=%s, but %w; point SKIFF_COMPOSE at a docker-compose binary, or unset it", p, err)
		}
		return abs, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the running skiff: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	return findIn(filepath.Dir(exe))
}

// findIn looks for the compose binary in dir.
func findIn(dir string) (string, error) {
	p := filepath.Join(dir, pluginFile())
	st, err := os.Stat(p)
	if err == nil && !st.IsDir() {
		return p, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("find %s: %w", PluginName, err)
	}
	return "", errclass.Errorf(errdefs.ErrNotFound, "%s not found at %s; build it with make (it goes beside skiff), or set SKIFF_COMPOSE to its path",
		PluginName, p)
}

// Streams are the standard streams compose runs with.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// Options are one run of compose.
type Options struct {
	// Plugin is the compose binary (Find).
	Plugin string
	// DockerHost is the machine's Docker API endpoint, as DOCKER_HOST
	// spells it.
	DockerHost string
	// Args are compose's own arguments, passed through untouched.
	Args []string
	// Terminal reports whether the streams are the user's terminal: the
	// terminal then delivers Ctrl-C to compose itself, so skiff must not
	// deliver it a second time (compose kills on a second one).
	Terminal bool
}

// Run runs compose and returns its exit code; err is set only when it
// could not run at all. While it runs, skiff's own interrupts are passed
// to it, so compose ends its project the way it would under docker.
func Run(ctx context.Context, s Streams, o Options) (int, error) {
	cmd := exec.CommandContext(ctx, o.Plugin, o.Args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s.In, s.Out, s.Err
	cmd.Env = Environ(os.Environ(), o.DockerHost)
	// The context ends compose only when skiff is told to stop, and then
	// gently, as an interrupt would.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("run %s: %w", o.Plugin, err)
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-sigs:
				if !o.Terminal {
					// Best effort: the process may have exited already.
					_ = cmd.Process.Signal(sig)
				}
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if code := ee.ExitCode(); code >= 0 {
			return code, nil
		}
		// Killed by a signal: a shell's 128+N.
		return exitCodeOf(ee), nil
	}
	if err != nil {
		return 0, fmt.Errorf("run %s: %w", o.Plugin, err)
	}
	return 0, nil
}

// Environ is env with DOCKER_HOST set to dockerHost and every variable
// that would send compose elsewhere, or make it think docker started it
// as a plugin, removed.
func Environ(env []string, dockerHost string) []string {
	drop := map[string]bool{
		"DOCKER_HOST":       true,
		"DOCKER_CONTEXT":    true,
		"DOCKER_TLS":        true,
		"DOCKER_TLS_VERIFY": true,
		"DOCKER_CERT_PATH":  true,
		// Set by the docker CLI when it runs a plugin; compose then
		// expects docker's own argument list.
		"DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND": true,
	}
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if runtime.GOOS == "windows" {
			k = strings.ToUpper(k)
		}
		if !drop[k] {
			out = append(out, kv)
		}
	}
	return append(out, "DOCKER_HOST="+dockerHost)
}

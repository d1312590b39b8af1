package machine

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/skiffrun/skiff/guest/api/atomicfile"
	"github.com/skiffrun/skiff/platform"
)

// Service is something the host serves for a machine while it runs (the
// Docker API socket): it runs until ctx ends. The host daemon runs the
// services given to RunDaemon once the agent answers; a detached
// (native) machine runs them in a process of their own
// (DockerAPICommand).
type Service func(ctx context.Context, m *Machine) error

// DockerAPICommand is the hidden skiff subcommand that serves a detached
// machine's Docker API socket; a VM's host daemon serves it itself.
const DockerAPICommand = "__docker-api"

// dockerAPIPoll paces the docker API process's checks that the agent
// still answers: it exits soon after the machine stops.
const dockerAPIPoll = time.Second

// dockerAPIStartTimeout bounds waiting for a new docker API process to
// listen.
const dockerAPIStartTimeout = 10 * time.Second

// DockerSocket is where the machine's Docker API listens.
func (m *Machine) DockerSocket() string { return filepath.Join(m.spec.Dir, "docker.sock") }

func (m *Machine) dockerAPIPIDFile() string { return filepath.Join(m.spec.Dir, "dockerapi.pid") }
func (m *Machine) dockerAPILock() string    { return filepath.Join(m.spec.Dir, "dockerapi.lock") }
func (m *Machine) dockerAPILog() string     { return filepath.Join(m.spec.Dir, "dockerapi.log") }

func (m *Machine) dockerAPIArgs() []string {
	return []string{DockerAPICommand, "--home", m.home, "--machine", m.spec.Name, "--driver", m.spec.Driver}
}

func (m *Machine) detached() bool {
	d, err := platform.Lookup(m.spec.Driver)
	if err != nil {
		return false
	}
	_, ok := d.(platform.Detached)
	return ok
}

// dockerAPIServed reports whether this program serves the Docker API
// (RegisterDockerAPI): skiff does, a test of this package does not.
var dockerAPIServed bool

// RegisterDockerAPI says that this program's DockerAPICommand serves a
// detached machine's docker socket, so a start spawns it.
func RegisterDockerAPI() { dockerAPIServed = true }

// EnsureDockerAPI starts a detached machine's Docker API process unless
// it answers already; a VM's host daemon serves the socket itself.
func (m *Machine) EnsureDockerAPI(ctx context.Context) error {
	if !dockerAPIServed || !m.detached() || answers(ctx, m.DockerSocket()) {
		return nil
	}
	if _, alive := m.dockerAPIPID(); !alive {
		if _, err := m.spawnDockerAPI(); err != nil {
			return fmt.Errorf("serve the docker socket of machine %q: %w", m.spec.Name, err)
		}
	}
	// A docker command right after the start must find the socket.
	ctx, cancel := context.WithTimeout(ctx, dockerAPIStartTimeout)
	defer cancel()
	for !answers(ctx, m.DockerSocket()) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("the docker socket of machine %q did not answer in time; its log is %s", m.spec.Name, m.dockerAPILog())
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// stopDockerAPI ends a detached machine's Docker API process.
func (m *Machine) stopDockerAPI() {
	if pid, alive := m.dockerAPIPID(); alive {
		_ = signalDaemon(pid, false)
	}
	_ = removeIfExists(m.DockerSocket())
}

// RunDockerAPI is the body of the Docker API process of a detached
// machine: it serves until the machine's agent stops answering (or
// SIGTERM). A second one for the machine finds the lock taken and leaves.
func RunDockerAPI(ctx context.Context, o Options, serve Service) error {
	m, err := New(o)
	if err != nil {
		return err
	}
	lctx, lcancel := context.WithTimeout(ctx, daemonLockWait)
	unlock, err := lockFile(lctx, m.dockerAPILock())
	lcancel()
	if err != nil {
		return nil
	}
	defer unlock()
	if err := atomicfile.WriteFile(m.dockerAPIPIDFile(), []byte(strconv.Itoa(os.Getpid())+"\n")); err != nil {
		return fmt.Errorf("write docker API pid file: %w", err)
	}
	defer os.Remove(m.dockerAPIPIDFile())
	ctx, cancel := signalContext(ctx)
	defer cancel()
	go func() {
		misses := 0
		for ctx.Err() == nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(dockerAPIPoll):
			}
			if answers(ctx, m.spec.AgentSocket) {
				misses = 0
				continue
			}
			if misses++; misses >= 3 {
				log.Printf("skiff: machine %q: the agent stopped; closing the docker socket", m.spec.Name)
				cancel()
			}
		}
	}()
	if err := serve(ctx, m); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// startServices runs each service until ctx ends, logging failures.
func (m *Machine) startServices(ctx context.Context, services []Service) {
	for _, svc := range services {
		go func() {
			if err := svc(ctx, m); err != nil && ctx.Err() == nil {
				log.Printf("skiff: machine %q: %v", m.spec.Name, err)
			}
		}()
	}
}

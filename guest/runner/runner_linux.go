package runner

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	// The cgroup manager needs the device controller to apply device
	// rules, and libcontainer needs nsenter's C constructor to join and
	// create namespaces in `init`.
	_ "github.com/opencontainers/cgroups/devices"
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

// Runner creates and drives libcontainer containers whose state lives
// under one root directory. It is safe for concurrent use.
type Runner struct {
	root string

	mu         sync.Mutex
	containers map[string]*libcontainer.Container
}

// New returns a Runner keeping libcontainer state under root.
func New(root string) (*Runner, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("create runtime root: %w", err)
	}
	return &Runner{root: root, containers: map[string]*libcontainer.Container{}}, nil
}

// Stdio is how a process is connected. With Terminal the process gets a
// pty made inside the container, and the Stdin/Stdout/Stderr files are
// ignored; otherwise nil files mean /dev/null.
type Stdio struct {
	Stdin          *os.File
	Stdout, Stderr *os.File
	Terminal       bool
	Width, Height  uint16
}

// Start creates container id from spec and starts its first process.
// ready, when not nil, is called once the container's init is set up and
// waits to run the process, which it runs only if ready returns nil:
// what the process needs besides (its network) can be made meanwhile.
// On error nothing of the container is left behind.
func (r *Runner) Start(id string, spec *specs.Spec, stdio Stdio, ready func() error) (_ *Process, retErr error) {
	config, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{
		CgroupName: id,
		Spec:       spec,
	})
	if err != nil {
		return nil, fmt.Errorf("convert spec of %s: %w", id, err)
	}
	c, err := libcontainer.Create(r.root, id, config)
	if err != nil {
		if errors.Is(err, libcontainer.ErrExist) {
			// A container of that id is left over from an earlier run of
			// the agent: clear it and try once more.
			if derr := r.destroyLeftover(id); derr != nil {
				return nil, fmt.Errorf("create container %s: %w", id, err)
			}
			c, err = libcontainer.Create(r.root, id, config)
		}
		if err != nil {
			return nil, fmt.Errorf("create container %s: %w", id, err)
		}
	}
	defer func() {
		if retErr != nil {
			_ = c.Destroy()
		}
	}()
	p, err := newProcess(spec.Process, true)
	if err != nil {
		return nil, err
	}
	proc, err := run(c, p, stdio, ready)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.containers[id] = c
	r.mu.Unlock()
	return proc, nil
}

// Exec starts another process in running container id.
func (r *Runner) Exec(id string, ps *specs.Process, stdio Stdio) (*Process, error) {
	c, err := r.get(id)
	if err != nil {
		return nil, err
	}
	p, err := newProcess(ps, false)
	if err != nil {
		return nil, err
	}
	return run(c, p, stdio, nil)
}

// run starts p in c; for the first process, ready (when not nil) is
// called between the init's setup and the process's start.
func run(c *libcontainer.Container, p *libcontainer.Process, stdio Stdio, ready func() error) (*Process, error) {
	var consoleParent *os.File
	if stdio.Terminal {
		parent, child, err := socketPair()
		if err != nil {
			return nil, err
		}
		defer child.Close()
		consoleParent = parent
		defer consoleParent.Close()
		p.ConsoleSocket = child
		p.ConsoleWidth, p.ConsoleHeight = stdio.Width, stdio.Height
	} else {
		// A nil *os.File must stay a nil interface: exec.Cmd then opens
		// /dev/null instead of failing on the nil file.
		if stdio.Stdin != nil {
			p.Stdin = stdio.Stdin
		}
		if stdio.Stdout != nil {
			p.Stdout = stdio.Stdout
		}
		if stdio.Stderr != nil {
			p.Stderr = stdio.Stderr
		}
	}
	if err := c.Start(p); err != nil {
		return nil, startError(err)
	}
	if p.Init {
		if ready != nil {
			if err := ready(); err != nil {
				return nil, err
			}
		}
		// The init waits on its exec fifo: opening it lets the process run.
		if err := c.Exec(); err != nil {
			return nil, startError(err)
		}
	}
	proc := &Process{p: p}
	if consoleParent != nil {
		master, err := recvFile(consoleParent)
		if err != nil {
			_ = p.Signal(unix.SIGKILL)
			_, _ = p.Wait()
			return nil, fmt.Errorf("receive the container's terminal: %w", err)
		}
		proc.console = master
	}
	return proc, nil
}

// Signal sends sig to the first process of container id.
func (r *Runner) Signal(id string, sig syscall.Signal) error {
	c, err := r.get(id)
	if err != nil {
		return err
	}
	if err := c.Signal(sig); err != nil {
		if errors.Is(err, libcontainer.ErrNotRunning) {
			return fmt.Errorf("container %s is not running: %w", id, errdefs.ErrFailedPrecondition)
		}
		return fmt.Errorf("signal container %s: %w", id, err)
	}
	return nil
}

// Pause freezes container id's processes in their cgroup.
func (r *Runner) Pause(id string) error {
	c, err := r.get(id)
	if err != nil {
		return err
	}
	if err := c.Pause(); err != nil {
		return fmt.Errorf("freeze container %s: %w", id, err)
	}
	return nil
}

// Resume thaws container id's processes.
func (r *Runner) Resume(id string) error {
	c, err := r.get(id)
	if err != nil {
		return err
	}
	if err := c.Resume(); err != nil {
		return fmt.Errorf("thaw container %s: %w", id, err)
	}
	return nil
}

// Pids lists the host pids of container id's processes.
func (r *Runner) Pids(id string) ([]int, error) {
	c, err := r.get(id)
	if err != nil {
		return nil, err
	}
	return c.Processes()
}

// OOMKilled reports whether the kernel's OOM killer killed a process of
// container id; call it before Destroy, which removes the cgroup.
func (r *Runner) OOMKilled(id string) bool {
	c, err := r.get(id)
	if err != nil {
		return false
	}
	st, err := c.State()
	if err != nil {
		return false
	}
	for _, f := range []string{
		filepath.Join(st.CgroupPaths["memory"], "memory.oom_control"), // v1
		filepath.Join(st.CgroupPaths[""], "memory.events"),            // v2
	} {
		if n, ok := readCounter(f, "oom_kill"); ok && n > 0 {
			return true
		}
	}
	return false
}

// Destroy kills what is left of container id and removes its cgroups and
// libcontainer state. Destroying an unknown container is not an error.
func (r *Runner) Destroy(id string) error {
	r.mu.Lock()
	c := r.containers[id]
	delete(r.containers, id)
	r.mu.Unlock()
	if c == nil {
		return r.destroyLeftover(id)
	}
	if err := c.Destroy(); err != nil {
		return fmt.Errorf("destroy container %s: %w", id, err)
	}
	return nil
}

// destroyLeftover destroys a container that this Runner did not start,
// e.g. one left by an agent that was killed.
func (r *Runner) destroyLeftover(id string) error {
	c, err := libcontainer.Load(r.root, id)
	if err != nil {
		if errors.Is(err, libcontainer.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("load container %s: %w", id, err)
	}
	_ = c.Signal(unix.SIGKILL)
	// The kill is asynchronous and libcontainer refuses to destroy a
	// running container: wait for the processes to go.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if st, err := c.Status(); err != nil || st == libcontainer.Stopped {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := c.Destroy(); err != nil {
		return fmt.Errorf("destroy container %s: %w", id, err)
	}
	return nil
}

// Leftovers lists the ids of containers that have libcontainer state.
func (r *Runner) Leftovers() ([]string, error) {
	entries, err := os.ReadDir(r.root)
	if err != nil {
		return nil, fmt.Errorf("list runtime state: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

func (r *Runner) get(id string) (*libcontainer.Container, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.containers[id]; ok {
		return c, nil
	}
	c, err := libcontainer.Load(r.root, id)
	if err != nil {
		if errors.Is(err, libcontainer.ErrNotExist) {
			return nil, fmt.Errorf("container %s is not running: %w", id, errdefs.ErrFailedPrecondition)
		}
		return nil, fmt.Errorf("load container %s: %w", id, err)
	}
	r.containers[id] = c
	return c, nil
}

// readCounter reads "key N" from a cgroup's flat-keyed file.
func readCounter(file, key string) (int64, bool) {
	f, err := os.Open(file)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), " ")
		if ok && k == key {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// IsInit reports whether this process was started by libcontainer as a
// container's init ("<agent> init"), which must call Init before anything
// else.
func IsInit() bool { return len(os.Args) > 1 && os.Args[1] == "init" }

// Init runs libcontainer's container init; it does not return.
func Init() { libcontainer.Init() }

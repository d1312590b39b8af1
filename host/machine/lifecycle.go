package machine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"

	"github.com/skiffrun/skiff/guest/api/atomicfile"
	"github.com/skiffrun/skiff/guest/api/errclass"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/platform"
)

// Start starts the machine unless its agent already answers, and waits
// until it does: StartTimeout for a detached driver (native), longer for a
// VM, which a host daemon boots and owns.
func (m *Machine) Start(ctx context.Context) error {
	if answers(ctx, m.spec.AgentSocket) {
		return nil
	}
	d, err := platform.Lookup(m.spec.Driver)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(m.spec.Dir, 0o700); err != nil {
		return fmt.Errorf("create machine directory: %w", err)
	}
	// MkdirAll leaves an existing directory's mode alone, and the socket in
	// it is the key to every container.
	if err := os.Chmod(m.spec.Dir, 0o700); err != nil {
		return fmt.Errorf("restrict machine directory: %w", err)
	}
	if err := m.saveDriver(); err != nil {
		return fmt.Errorf("start machine %q: %w", m.spec.Name, err)
	}
	if _, ok := d.(platform.Detached); !ok {
		if err := m.startDaemon(ctx, d); err != nil {
			return fmt.Errorf("start machine %q: %w", m.spec.Name, err)
		}
		return nil
	}
	spec := m.spec
	if spec.AgentBinary, err = findAgent(); err != nil {
		return fmt.Errorf("start machine %q: %w", spec.Name, err)
	}
	if spec.SeedImages, err = seedImages(spec.AgentBinary); err != nil {
		return fmt.Errorf("start machine %q: %w", spec.Name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	if _, err := d.Start(ctx, spec); err != nil {
		return fmt.Errorf("start machine %q: %w", spec.Name, err)
	}
	return m.EnsureDockerAPI(ctx)
}

// startDaemon starts the machine's host daemon unless one runs, and waits
// until the machine's socket answers, the daemon exits, or the VM start
// timeout passes.
func (m *Machine) startDaemon(ctx context.Context, d platform.Driver) error {
	// Find (or pull) the guest image, and check the spec, the hypervisor
	// and the image here, where the user sees the error, rather than in
	// the daemon's log.
	if m.image == nil {
		if _, err := m.PrepareImage(ctx, ImageOptions{}); err != nil {
			return err
		}
	}
	spec, err := m.vmSpec()
	if err != nil {
		return err
	}
	if c, ok := d.(platform.Checker); ok {
		if err := c.Check(spec); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, vmStartTimeout+10*time.Second)
	defer cancel()
	unlock, err := lockFile(ctx, m.startLock())
	if err != nil {
		return fmt.Errorf("wait for another command starting the machine: %w", err)
	}
	defer unlock()
	if _, alive := m.daemonPID(); !alive {
		// The daemon boots what this command found.
		if err := m.RecordImage(*m.image); err != nil {
			return err
		}
		p, err := m.spawnDaemon()
		if err != nil {
			return err
		}
		// The daemon writes its own pid file; write it too, so a racing
		// command finds it at once.
		if err := atomicfile.WriteFile(m.daemonPIDFile(), []byte(strconv.Itoa(p.Pid)+"\n")); err != nil {
			return err
		}
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if answers(ctx, m.spec.AgentSocket) {
			return nil
		}
		if _, alive := m.daemonPID(); !alive {
			if st := m.readState(); st.Error != "" {
				return errors.New(st.Error)
			}
			return fmt.Errorf("%w%s; its log is %s", errDaemonExited, lastLineOf(m.daemonLog()), m.daemonLog())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the machine did not come up in time (%w)%s", ctx.Err(), consoleTail(m.consoleLog(), 5))
		case <-tick.C:
		}
	}
}

func lastLineOf(path string) string {
	if l := lastLines(path, 1); len(l) == 1 {
		return ": " + l[0]
	}
	return ""
}

// Stop asks the agent to shut down (it stops every container), gives it
// time to exit, and makes sure it did: through the driver for a detached
// machine, by signalling the host daemon (which stops the VM by force) for
// a VM.
func (m *Machine) Stop(ctx context.Context) error {
	d, err := platform.Lookup(m.spec.Driver)
	if err != nil {
		return err
	}
	wait := time.Duration(0)
	if answers(ctx, m.spec.AgentSocket) {
		wait = stopTimeout
		if err := m.shutdown(ctx); err != nil && !errdefs.IsUnavailable(err) {
			return fmt.Errorf("stop machine %q: %w", m.spec.Name, err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	det, ok := d.(platform.Detached)
	if !ok {
		if err := m.stopDaemon(wctx); err != nil {
			return fmt.Errorf("stop machine %q: %w", m.spec.Name, err)
		}
		return nil
	}
	defer m.stopDockerAPI()
	vm, err := det.Attach(wctx, m.spec)
	if errdefs.IsNotFound(err) {
		// Nothing runs; clear what a crash may have left.
		vm, err = detachedLeftovers{m.spec}, nil
	}
	if err != nil {
		return fmt.Errorf("stop machine %q: %w", m.spec.Name, err)
	}
	if err := vm.Stop(wctx); err != nil {
		return fmt.Errorf("stop machine %q: %w", m.spec.Name, err)
	}
	return nil
}

// detachedLeftovers clears a detached machine's socket and pid file when
// nothing runs.
type detachedLeftovers struct{ spec platform.MachineSpec }

func (detachedLeftovers) AgentConn(context.Context) (net.Conn, error) {
	return nil, errors.New("not running")
}
func (detachedLeftovers) Wait(context.Context) error { return nil }
func (l detachedLeftovers) Stop(context.Context) error {
	return errors.Join(removeIfExists(l.spec.AgentSocket), removeIfExists(l.spec.PIDFile))
}

// stopDaemon waits until ctx ends for the host daemon to exit (it does
// once the VM powered off), then asks it to stop the VM (SIGTERM) and, as
// a last resort, kills it; QEMU dies with it.
func (m *Machine) stopDaemon(ctx context.Context) error {
	gone := func(d time.Duration) bool {
		deadline := time.Now().Add(d)
		for {
			if _, alive := m.daemonPID(); !alive {
				return true
			}
			if time.Now().After(deadline) {
				return false
			}
			select {
			case <-ctx.Done():
				if d < 0 {
					return false
				}
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	if dl, ok := ctx.Deadline(); ok {
		if gone(time.Until(dl)) {
			return m.clearDaemon()
		}
	}
	if pid, alive := m.daemonPID(); alive {
		if err := signalDaemon(pid, false); err != nil {
			return err
		}
		if !gone(vmStopTimeout + 5*time.Second) {
			if err := signalDaemon(pid, true); err != nil {
				return err
			}
			if !gone(5 * time.Second) {
				return errclass.Errorf(errdefs.ErrUnavailable, "the machine's host daemon (pid %d) survived SIGKILL", pid)
			}
		}
	}
	return m.clearDaemon()
}

func (m *Machine) clearDaemon() error {
	if st := m.readState(); st.Status != Stopped && st.Status != "" {
		st.Status, st.Error, st.PID, st.VMPID = Stopped, "", 0, 0
		m.writeState(st)
	}
	return errors.Join(removeIfExists(m.spec.AgentSocket), removeIfExists(m.daemonPIDFile()))
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}

func (m *Machine) shutdown(ctx context.Context) error {
	c, err := m.Client(false)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, shutdownTimeout)
	defer cancel()
	_, err = c.System.Shutdown(ctx, &apiv1.Empty{})
	return err
}

// Status is what `skiff machine status` prints.
type Status string

// Status reports whether the machine runs: running or stopped, and for a
// VM also starting, or error when it stopped unexpectedly.
func (m *Machine) Status(ctx context.Context) Status {
	s, _ := m.Describe(ctx)
	return s
}

// Describe is Status with, for error, what went wrong and the last lines
// of the machine's console.
func (m *Machine) Describe(ctx context.Context) (Status, string) {
	ans := answers(ctx, m.spec.AgentSocket)
	d, err := platform.Lookup(m.spec.Driver)
	if _, detached := d.(platform.Detached); err != nil || detached {
		if ans {
			return Running, ""
		}
		return Stopped, ""
	}
	_, alive := m.daemonPID()
	last := m.readState()
	st := vmStatus(ans, alive, last)
	if st != Error {
		return st, ""
	}
	detail := last.Error
	if detail == "" {
		detail = "the machine's host daemon exited unexpectedly; its log is " + m.daemonLog()
	}
	if !strings.Contains(detail, "console") {
		detail += consoleTail(m.consoleLog(), 5)
	}
	return st, detail
}

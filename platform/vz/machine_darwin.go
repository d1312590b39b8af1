//go:build cgo

package vz

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"sync"
	"time"

	"github.com/Code-Hex/vz/v3"

	"github.com/skiffrun/skiff/platform"
)

// forceStopGrace is how long a forced stop has to take effect.
const forceStopGrace = 5 * time.Second

// machine is a running vz VM, owned by this process: it ends with it.
type machine struct {
	spec platform.MachineSpec
	desc Description
	vm   *vz.VirtualMachine
	l    *vz.VirtioSocketListener

	// conns carries the agent's connections from the one goroutine that
	// accepts them: the framework's listener cannot be woken from an
	// Accept, so AgentConn must not leave one behind when its ctx ends.
	conns chan net.Conn

	done    chan struct{} // closed once the VM has stopped
	exitErr error
	endOnce sync.Once

	stopOnce sync.Once
}

var (
	_ platform.Machine   = (*machine)(nil)
	_ platform.Described = (*machine)(nil)
)

func newMachine(spec platform.MachineSpec, d Description, vm *vz.VirtualMachine, l *vz.VirtioSocketListener) *machine {
	m := &machine{spec: spec, desc: d, vm: vm, l: l, conns: make(chan net.Conn), done: make(chan struct{})}
	go m.watch()
	go m.accept()
	return m
}

// RunInfo reports this process, which owns the VM (the framework runs
// it in an XPC service of its own), hvf, and the sizes.
func (m *machine) RunInfo() platform.RunInfo {
	return platform.RunInfo{PID: os.Getpid(), Accel: "hvf", CPUs: int(m.desc.CPUs), MemoryMiB: int(m.desc.MemoryBytes / MiB)}
}

// watch follows the VM's state until it has stopped: a guest that powers
// off is a clean stop, the framework's error state is not.
func (m *machine) watch() {
	ran := false
	for st := range m.vm.StateChangedNotify() {
		switch st {
		case vz.VirtualMachineStateStopped:
			if ran {
				m.end(nil)
				return
			}
		case vz.VirtualMachineStateError:
			m.end(fmt.Errorf("the virtual machine died: Virtualization.framework reports an internal error; the console log is %s", m.spec.Log))
			return
		default:
			ran = true
		}
	}
	m.end(errors.New("lost track of the virtual machine's state"))
}

func (m *machine) end(err error) {
	m.endOnce.Do(func() {
		m.exitErr = err
		close(m.done)
	})
}

// accept hands the agent's connections to AgentConn until the VM has
// stopped. It then stays blocked in the framework's Accept, which nothing
// wakes; the process that owned the VM exits soon after.
func (m *machine) accept() {
	for {
		c, err := m.l.Accept()
		if err != nil {
			// A connection the framework handed over but that could not
			// be made a net.Conn; the agent dials again.
			log.Printf("skiff: machine %q: accept the agent's connection: %v", m.spec.Name, err)
			continue
		}
		select {
		case m.conns <- c:
		case <-m.done:
			c.Close()
			return
		}
	}
}

// AgentConn returns the next connection the agent makes to the host's
// vsock port.
func (m *machine) AgentConn(ctx context.Context) (net.Conn, error) {
	select {
	case c := <-m.conns:
		return c, nil
	case <-m.done:
		return nil, m.stoppedErr()
	case <-ctx.Done():
		return nil, fmt.Errorf("connect to the agent of machine %q: %w", m.spec.Name, ctx.Err())
	}
}

func (m *machine) stoppedErr() error {
	if m.exitErr != nil {
		return fmt.Errorf("machine %q stopped: %w", m.spec.Name, m.exitErr)
	}
	return fmt.Errorf("machine %q stopped", m.spec.Name)
}

// Wait returns once the VM has stopped: nil when the guest powered off.
func (m *machine) Wait(ctx context.Context) error {
	select {
	case <-m.done:
		return m.exitErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop asks the guest to power off, waits for it until ctx ends, then
// stops the VM by force.
func (m *machine) Stop(ctx context.Context) error {
	select {
	case <-m.done:
	default:
		if m.vm.CanRequestStop() {
			if _, err := m.vm.RequestStop(); err != nil {
				log.Printf("skiff: machine %q: ask the guest to power off: %v", m.spec.Name, err)
			}
		}
		select {
		case <-m.done:
		case <-ctx.Done():
			m.forceStop()
		}
	}
	m.stopOnce.Do(func() { _ = m.l.Close() })
	return nil
}

// forceStop stops the VM at once (macOS 12 and later; on 11 the VM goes
// when this process exits) and waits a while for it to be gone.
func (m *machine) forceStop() {
	if !m.vm.CanStop() {
		return
	}
	if err := m.vm.Stop(); err != nil {
		log.Printf("skiff: machine %q: stop the virtual machine: %v", m.spec.Name, err)
		return
	}
	select {
	case <-m.done:
	case <-time.After(forceStopGrace):
	}
}

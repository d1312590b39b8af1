//go:build cgo

package vz

import (
	"context"
	"errors"
	"fmt"
	"log"
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
	// links are descriptors the VM's devices use (the user network's
	// socket), kept open for its life.
	links []*os.File

	// VMLife gives the machine AgentConn and Wait. One goroutine accepts
	// the agent's connections and offers them: the framework's listener
	// cannot be woken from an Accept, so AgentConn must not leave one
	// behind when its ctx ends.
	*platform.VMLife

	stopOnce sync.Once
}

var (
	_ platform.Machine   = (*machine)(nil)
	_ platform.Described = (*machine)(nil)
)

func newMachine(spec platform.MachineSpec, d Description, vm *vz.VirtualMachine, l *vz.VirtioSocketListener) *machine {
	m := &machine{VMLife: platform.NewVMLife(spec.Name), spec: spec, desc: d, vm: vm, l: l}
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
				m.End(nil)
				return
			}
		case vz.VirtualMachineStateError:
			m.End(fmt.Errorf("the virtual machine died: Virtualization.framework reports an internal error; the console log is %s", m.spec.Log))
			return
		default:
			ran = true
		}
	}
	m.End(errors.New("lost track of the virtual machine's state"))
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
		if !m.Offer(c) {
			return
		}
	}
}

// Stop asks the guest to power off, waits for it until ctx ends, then
// stops the VM by force.
func (m *machine) Stop(ctx context.Context) error {
	select {
	case <-m.Done():
	default:
		if m.vm.CanRequestStop() {
			if _, err := m.vm.RequestStop(); err != nil {
				log.Printf("skiff: machine %q: ask the guest to power off: %v", m.spec.Name, err)
			}
		}
		select {
		case <-m.Done():
		case <-ctx.Done():
			m.forceStop()
		}
	}
	m.stopOnce.Do(func() {
		_ = m.l.Close()
		for _, f := range m.links {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	})
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
	case <-m.Done():
	case <-time.After(forceStopGrace):
	}
}

var _ platform.Ballooner = (*machine)(nil)

// RunBalloon steers the VM's memory balloon from the guest's reports
// (see balloonPolicy).
func (m *machine) RunBalloon(ctx context.Context, report func(context.Context) (platform.MemoryReport, error)) error {
	devs := m.vm.MemoryBalloonDevices()
	if len(devs) == 0 {
		return fmt.Errorf("machine %q has no memory balloon: %w", m.spec.Name, platform.ErrNotSupported)
	}
	dev := vz.AsVirtioTraditionalMemoryBalloonDevice(devs[0])
	return runBalloon(ctx, newBalloonPolicy(m.desc.MemoryBytes), vzBalloon{dev}, balloonInterval, report)
}

// vzBalloon is the framework's balloon device as a balloonTarget.
type vzBalloon struct {
	dev *vz.VirtioTraditionalMemoryBalloonDevice
}

func (b vzBalloon) target() uint64         { return b.dev.GetTargetVirtualMachineMemorySize() }
func (b vzBalloon) setTarget(bytes uint64) { b.dev.SetTargetVirtualMachineMemorySize(bytes) }

package hcs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log"
	"os"
	"sync"
	"time"

	"github.com/Microsoft/go-winio"
	"github.com/Microsoft/go-winio/pkg/guid"
	"github.com/Microsoft/hcsshim/hcn"
	"github.com/containerd/errdefs"
	"golang.org/x/sys/windows"

	"github.com/skiffrun/skiff/platform"
)

func init() { platform.Register(Name, Driver{}) }

// Driver boots machines as Hyper-V utility VMs through HCS.
type Driver struct{}

var (
	_ platform.Checker   = Driver{}
	_ platform.Described = (*machine)(nil)
)

// hcsTimeout bounds one HCS call when the caller's context has no
// deadline of its own.
const hcsTimeout = 2 * time.Minute

// Check reports a Windows without the HCS API, a user without the right
// to run VMs, a guest architecture the driver cannot boot, and a missing
// guest image.
func (Driver) Check(spec platform.MachineSpec) error {
	if err := loadAPI(); err != nil {
		return err
	}
	if err := checkRights(); err != nil {
		return err
	}
	spec = Resolve(spec)
	if spec.Arch != "amd64" {
		_, err := Document(spec, Host{})
		return err
	}
	for _, p := range []string{spec.Kernel, spec.Initrd} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("hcs: guest image: %w; build it with make vmimage, or set SKIFF_VMIMAGE to its folder", err)
		}
	}
	return nil
}

// systemID is the compute system's ID: the machine's name, made unique
// per skiff home so that two homes' "default" machines do not collide.
func systemID(spec platform.MachineSpec) string {
	h := fnv.New32a()
	h.Write([]byte(spec.Dir))
	return fmt.Sprintf("skiff-%s-%08x", spec.Name, h.Sum32())
}

// Start creates the data disk on first start and the machine's network
// endpoint, creates and starts the VM, and listens for the agent (and on
// the user-mode network, the guest's network link) on the VM's hvsock
// before the guest can dial. The agent is not waited for.
func (Driver) Start(ctx context.Context, spec platform.MachineSpec) (_ platform.Machine, err error) {
	if err := loadAPI(); err != nil {
		return nil, err
	}
	spec = Resolve(spec)
	if err := spec.ValidateVM(); err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, hcsTimeout)
		defer cancel()
	}
	if err := os.MkdirAll(spec.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create machine directory: %w", err)
	}
	id := systemID(spec)
	m := &machine{VMLife: platform.NewVMLife(spec.Name), spec: spec, id: id, stopConsole: make(chan struct{})}
	defer func() {
		if err != nil {
			_ = m.release(context.Background(), true)
		}
	}()
	h := Host{Now: time.Now(), ConsolePipe: consolePipe(id)}
	if h.UserSID, err = userSID(); err != nil {
		return nil, err
	}
	if spec.Disk.Path != "" {
		if err := ensureDisk(spec.Disk); err != nil {
			return nil, err
		}
	}
	if spec.Network.Mode == platform.NetworkNAT {
		if m.endpoint, m.spec.Network, err = natEndpoint(id); err != nil {
			return nil, err
		}
		h.EndpointID, h.MAC = m.endpoint.Id, m.endpoint.MacAddress
	}
	if err := m.grantAccess(); err != nil {
		return nil, err
	}
	doc, err := Document(m.spec, h)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	if m.sys, err = createComputeSystem(ctx, id, b); err != nil {
		return nil, err
	}
	if m.forget, err = m.sys.notify(m.onEvent); err != nil {
		return nil, err
	}
	props, err := m.sys.properties(ctx)
	if err != nil {
		return nil, err
	}
	var p Properties
	if err := json.Unmarshal([]byte(props), &p); err != nil {
		return nil, fmt.Errorf("hcs: the VM's properties %q: %w", props, err)
	}
	vmID, err := guid.FromString(p.RuntimeID)
	if err != nil {
		return nil, fmt.Errorf("hcs: the VM's runtime ID %q: %w", p.RuntimeID, err)
	}
	m.agent, err = winio.ListenHvsock(&winio.HvsockAddr{VMID: vmID, ServiceID: winio.VsockServiceID(m.spec.Agent.VsockPort)})
	if err != nil {
		return nil, fmt.Errorf("hcs: listen for the agent on hvsock port %d of VM %s: %w; %s", m.spec.Agent.VsockPort, vmID, err, adminAdvice)
	}
	go m.acceptLoop()
	if m.spec.Network.Mode == platform.NetworkUser {
		// Listening before the VM starts, as for the agent: the guest
		// dials as soon as it has made eth0.
		port := m.spec.Network.Link.VsockPort
		if m.netLink, err = winio.ListenHvsock(&winio.HvsockAddr{VMID: vmID, ServiceID: winio.VsockServiceID(port)}); err != nil {
			return nil, fmt.Errorf("hcs: listen for the guest's network on hvsock port %d of VM %s: %w; %s", port, vmID, err, adminAdvice)
		}
		m.relayed = make(chan struct{})
		go func() {
			defer close(m.relayed)
			if err := RelayUserNetwork(m.netLink, m.spec.Network.Link.Stream); err != nil {
				log.Printf("skiff: machine %q: %v", m.spec.Name, err)
			}
		}()
	}
	if f, err := os.OpenFile(spec.Log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err == nil {
		fmt.Fprintf(f, "%s skiff: booting machine %q (Hyper-V, VM %s)\n", time.Now().UTC().Format(time.RFC3339), spec.Name, vmID)
		f.Close()
	}
	if err := m.sys.start(ctx); err != nil {
		return nil, err
	}
	go drainConsole(h.ConsolePipe, spec.Log, m.stopConsole)
	return m, nil
}

// checkRights reports a process that HCS would refuse: neither elevated
// nor in the Hyper-V Administrators group (an administrator's unelevated
// token has Administrators only as a deny-only group, so IsMember is false).
func checkRights() error {
	// A zero token makes CheckTokenMembership use the caller's own.
	var tok windows.Token
	for _, sid := range []string{"S-1-5-32-544", "S-1-5-32-578"} { // Administrators, Hyper-V Administrators
		s, err := windows.StringToSid(sid)
		if err != nil {
			return nil // cannot tell: leave it to HCS
		}
		ok, err := tok.IsMember(s)
		if err != nil {
			return nil
		}
		if ok {
			return nil
		}
	}
	return fmt.Errorf("hcs: this process may not run Hyper-V VMs: %w; %s", errdefs.ErrPermissionDenied, adminAdvice)
}

func userSID() (string, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("hcs: who runs skiff: %w", err)
	}
	return u.User.Sid.String(), nil
}

// grantAccess lets the VM's worker process read the guest image and
// write the data disk. The disk must be granted (it lives in the user's
// profile); the image may sit where the user cannot change its ACL but
// everyone may read it (Program Files), so a refusal there is only noted.
func (m *machine) grantAccess() error {
	for _, p := range []string{m.spec.Kernel, m.spec.Initrd} {
		if err := grantVMAccess(m.id, p); err != nil {
			log.Printf("skiff: %v", err)
		}
	}
	if m.spec.Disk.Path != "" {
		return grantVMAccess(m.id, m.spec.Disk.Path)
	}
	return nil
}

// machine is a running utility VM owned by this process: HCS terminates
// it when the process's last handle to it closes.
type machine struct {
	// VMLife gives the machine AgentConn and Wait.
	*platform.VMLife
	spec     platform.MachineSpec
	id       string
	sys      computeSystem
	forget   func()
	agent    *winio.HvsockListener
	endpoint *hcn.HostComputeEndpoint
	// netLink is where the guest's user-mode network links arrive, and
	// relayed closes when their relay has ended; nil without one.
	netLink *winio.HvsockListener
	relayed chan struct{}

	stopConsole chan struct{}

	mu       sync.Mutex // guards sys against a concurrent release
	released bool
}

// RunInfo reports the resolved sizes; the VM runs in a worker process of
// the Hyper-V service, not in one of skiff's.
func (m *machine) RunInfo() platform.RunInfo {
	return platform.RunInfo{Accel: "hyperv", CPUs: m.spec.CPUs, MemoryMiB: m.spec.MemoryMiB}
}

// systemExit is the data of an HCS SystemExited event.
type systemExit struct {
	Status   int32  `json:"Status"`
	ExitType string `json:"ExitType"`
}

func (m *machine) onEvent(eventType uint32, data string) {
	switch eventType {
	case hcsEventSystemExited:
		var e systemExit
		_ = json.Unmarshal([]byte(data), &e)
		var err error
		if e.Status < 0 || e.ExitType == "UnexpectedExit" {
			hr := uint32(e.Status)
			if hr == 0 {
				hr = hcsUnexpectedExit
			}
			err = newError("run the VM", hr, "", "the VM exited unexpectedly")
		}
		m.End(err)
	case hcsEventServiceDisconnect:
		m.End(newError("run the VM", hcsServiceDisconnect, "", "lost the Host Compute Service"))
	}
}

// acceptLoop hands each connection the agent makes to AgentConn, until
// the listener closes.
func (m *machine) acceptLoop() {
	for {
		c, err := m.agent.Accept()
		if err != nil {
			return
		}
		if !m.Offer(c) {
			return
		}
	}
}

// Stop asks the guest to shut down (Hyper-V's shutdown integration
// service, hv_utils in the guest), waits until ctx ends, then terminates
// the VM and removes its network endpoint.
func (m *machine) Stop(ctx context.Context) error {
	select {
	case <-m.Done():
	default:
		if err := m.shutDown(ctx); err != nil && !IsHRESULT(err, hcsSystemAlreadyStopped) {
			log.Printf("skiff: machine %q: %v", m.spec.Name, err)
		}
		select {
		case <-m.Done():
		case <-ctx.Done():
		}
	}
	return m.release(context.Background(), false)
}

func (m *machine) shutDown(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.released {
		return nil
	}
	return m.sys.shutDown(ctx)
}

// release terminates the VM unless it has exited, closes its handle and
// listeners, ends the network relay, and removes its endpoint. Later
// calls do nothing.
func (m *machine) release(ctx context.Context, failedStart bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.released {
		return nil
	}
	m.released = true
	var errs []error
	if m.sys != 0 {
		select {
		case <-m.Done():
		default:
			tctx, cancel := context.WithTimeout(ctx, hcsTimeout)
			err := m.sys.terminate(tctx)
			cancel()
			if err != nil && !IsHRESULT(err, hcsSystemAlreadyStopped) && !failedStart {
				errs = append(errs, err)
			}
		}
		m.sys.close()
		m.sys = 0
	}
	if m.forget != nil {
		m.forget()
	}
	m.End(nil)
	close(m.stopConsole)
	if m.agent != nil {
		_ = m.agent.Close()
	}
	if m.netLink != nil {
		_ = m.netLink.Close()
		<-m.relayed
	}
	errs = append(errs, removeEndpoint(m.endpoint))
	return errors.Join(errs...)
}

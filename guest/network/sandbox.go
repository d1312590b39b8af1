package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"

	"github.com/skiffrun/skiff/guest/api/portfwd"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// Container is what networking needs to know of a container.
type Container struct {
	ID, Name, Hostname string
	// HostsPath is the container's /etc/hosts on the machine, rewritten
	// in place (it is bind-mounted) as peers come and go.
	HostsPath   string
	ExtraHosts  []string
	NetworkMode string
	// Aliases are its other names on its primary network.
	Aliases    []string
	Ports      []*apiv1.PortBinding
	PublishAll bool
	// Exposed are "port/proto" items: the image's and --expose's.
	Exposed []string
}

// sandbox is a running container's network namespace and interfaces.
type sandbox struct {
	c     Container
	ns    string
	ports []*apiv1.PortBinding
	// veths are the host ends of its interfaces, by network id, and next
	// numbers the next interface inside (eth0, eth1, ...).
	veths map[string]string
	next  int
}

// primary is the network a mode names: "" and "default" mean the default
// bridge; host and none have no network.
func primary(mode string) (name string, ok bool) {
	switch mode {
	case "", "default", DefaultName:
		return DefaultName, true
	case "host", "none":
		return "", false
	}
	return mode, true
}

// PortChecker is a Publisher that can tell early whether ports are free.
type PortChecker interface {
	CheckPorts(ports []*apiv1.PortBinding) error
}

// Check validates a new container's network settings: its network must
// exist, and a host port it names must be free where that can be known.
func (m *Manager) Check(c Container) error {
	if strings.HasPrefix(c.NetworkMode, "container:") {
		return fmt.Errorf("--network container:NAME is not supported: use a user network (skiff network create) to let containers reach each other: %w", errdefs.ErrNotImplemented)
	}
	name, ok := primary(c.NetworkMode)
	if !ok {
		return nil
	}
	m.mu.Lock()
	_, err := m.find(name)
	m.mu.Unlock()
	if err != nil {
		return err
	}
	if pc, ok := m.cfg.Publisher.(PortChecker); ok {
		return pc.CheckPorts(c.Ports)
	}
	return nil
}

// Prepare makes a starting container's network namespace, with loopback
// only, and returns its path, or "" when the runtime should make one
// (none) or none is wanted (host). Attach then gives it its interfaces:
// the two are apart so that the container's init is set up meanwhile.
// On error nothing is left.
func (m *Manager) Prepare(ctx context.Context, c Container) (string, error) {
	name, ok := primary(c.NetworkMode)
	if !ok {
		return "", nil
	}
	m.mu.Lock()
	unplugged := m.unplugged[c.ID]
	m.mu.Unlock()
	if unplugged != nil {
		select {
		case <-unplugged:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sandboxes[c.ID]; ok {
		return "", fmt.Errorf("container %s is already attached to its networks: %w", c.Name, errdefs.ErrConflict)
	}
	if _, err := m.find(name); err != nil {
		return "", err
	}
	sb := &sandbox{c: c, ns: filepath.Join(m.nsDir(), c.ID), veths: map[string]string{}}
	_ = removeNetns(sb.ns)
	if err := newNetns(sb.ns); err != nil {
		return "", fmt.Errorf("network of container %s: %w", c.Name, err)
	}
	m.sandboxes[c.ID] = sb
	return sb.ns, nil
}

// Attach gives a container that Prepare made ready its network: an
// interface on each of its networks, its hosts file, and its published
// ports. On error, Detach takes away what was done.
func (m *Manager) Attach(ctx context.Context, c Container) error {
	name, ok := primary(c.NetworkMode)
	if !ok {
		return nil
	}
	m.mu.Lock()
	sb, err := m.plugAllLocked(c, name)
	m.mu.Unlock()
	if err != nil {
		return err
	}
	ports := bindings(c)
	if len(ports) > 0 && m.cfg.Publisher != nil {
		m.mu.Lock()
		target := m.primaryAddrLocked(c.ID, name)
		m.mu.Unlock()
		bound, err := m.cfg.Publisher.Publish(ctx, c.ID, target, sb.ns, ports)
		if err != nil {
			return err
		}
		m.mu.Lock()
		sb.ports = bound
		m.mu.Unlock()
	}
	return nil
}

// bindings are the ports to publish: -p's, and with -P every exposed
// port not already published, each on a free port of 127.0.0.1.
func bindings(c Container) []*apiv1.PortBinding {
	var out []*apiv1.PortBinding
	seen := map[string]bool{}
	for _, p := range c.Ports {
		b := &apiv1.PortBinding{HostIp: p.HostIp, HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: p.Protocol}
		if b.HostIp == "" {
			b.HostIp = portfwd.DefaultHostIP
		}
		if b.Protocol == "" {
			b.Protocol = "tcp"
		}
		seen[strconv.Itoa(int(b.ContainerPort))+"/"+b.Protocol] = true
		out = append(out, b)
	}
	if c.PublishAll {
		exposed := append([]string(nil), c.Exposed...)
		sort.Strings(exposed)
		for _, e := range exposed {
			port, proto, _ := strings.Cut(e, "/")
			if proto == "" {
				proto = "tcp"
			}
			n, err := strconv.ParseUint(port, 10, 16)
			if err != nil || n == 0 || seen[port+"/"+proto] {
				continue
			}
			seen[port+"/"+proto] = true
			out = append(out, &apiv1.PortBinding{HostIp: portfwd.DefaultHostIP, ContainerPort: uint32(n), Protocol: proto})
		}
	}
	return out
}

func (m *Manager) primaryAddrLocked(id, name string) netip.Addr {
	if r, err := m.find(name); err == nil {
		return r.Pool.Leases[id]
	}
	return netip.Addr{}
}

// plugAllLocked gives c's prepared namespace an interface on each of its
// networks, name first. Call with m.mu held.
func (m *Manager) plugAllLocked(c Container, name string) (*sandbox, error) {
	sb, ok := m.sandboxes[c.ID]
	if !ok {
		return nil, fmt.Errorf("container %s has no network namespace to attach: %w", c.Name, errdefs.ErrFailedPrecondition)
	}
	first, err := m.find(name)
	if err != nil {
		return nil, err
	}
	if _, err := m.join(first, c, c.Aliases); err != nil {
		return nil, err
	}
	nets := []*record{first}
	var others []*record
	for _, r := range m.nets {
		if _, ok := r.Endpoints[c.ID]; ok && r != first {
			others = append(others, r)
		}
	}
	sort.Slice(others, func(i, j int) bool { return others[i].Name < others[j].Name })
	nets = append(nets, others...)
	for i, r := range nets {
		if _, done := sb.veths[r.ID]; done {
			continue
		}
		if err := m.plug(sb, r, i == 0); err != nil {
			return nil, err
		}
	}
	m.refreshHostsLocked(nets)
	for _, r := range nets {
		m.emit(r, "connect", c.ID)
	}
	return sb, nil
}

// join records c on network r (with its address) if it is not there yet.
// Call with m.mu held.
func (m *Manager) join(r *record, c Container, aliases []string) (bool, error) {
	if _, ok := r.Endpoints[c.ID]; ok {
		return false, nil
	}
	addr, err := r.Pool.lease(c.ID)
	if err != nil {
		return false, err
	}
	a := addr.As4()
	mac := net.HardwareAddr{0x02, 0x42, a[0], a[1], a[2], a[3]}
	r.Endpoints[c.ID] = &endpoint{Name: c.Name, Aliases: aliases, MAC: mac.String()}
	m.store.saveLater(r)
	return true, nil
}

// plug adds sb's interface on network r. Call with m.mu held.
func (m *Manager) plug(sb *sandbox, r *record, isPrimary bool) error {
	if err := m.activate(r); err != nil {
		return fmt.Errorf("network %s: %w", r.Name, err)
	}
	ep := r.Endpoints[sb.c.ID]
	mac, _ := net.ParseMAC(ep.MAC)
	v := vethSpec{
		Host:   fmt.Sprintf("sk%.10s%d", sb.c.ID, sb.next),
		Temp:   fmt.Sprintf("skt%.10s%d", sb.c.ID, sb.next),
		Inside: fmt.Sprintf("eth%d", sb.next),
		Bridge: r.Bridge, MAC: mac, Addr: r.Pool.Leases[sb.c.ID], Subnet: r.Pool.Subnet,
	}
	if isPrimary {
		v.Gateway = r.Pool.Gateway
	}
	if err := addVeth(sb.ns, v); err != nil {
		return fmt.Errorf("connect container %s to network %s: %w", sb.c.Name, r.Name, err)
	}
	sb.veths[r.ID] = v.Host
	sb.next++
	return nil
}

// Detach takes a stopped container off its networks: its published
// ports, interfaces and namespace. Its addresses stay reserved until
// Release. Detaching twice is fine.
func (m *Manager) Detach(id string) {
	if m.cfg.Publisher != nil {
		m.cfg.Publisher.Unpublish(id)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	sb, ok := m.sandboxes[id]
	if !ok {
		return
	}
	delete(m.sandboxes, id)
	var nets []*record
	var veths []string
	for nid, v := range sb.veths {
		veths = append(veths, v)
		if r := m.nets[nid]; r != nil {
			nets = append(nets, r)
			m.emit(r, "disconnect", id)
		}
	}
	if err := removeNetns(sb.ns); err != nil {
		m.cfg.Log.Warn("remove a container's netns", "id", id, "err", err)
	}
	m.refreshHostsLocked(nets)
	// Deleting a veth waits for the kernel's RCU grace periods (about
	// 10 ms each), which the container's exit need not wait for: the
	// names are the container's own, and the kernel would tear the pairs
	// down with the namespace anyway.
	done := make(chan struct{})
	m.unplugged[id] = done
	m.unplugging.Add(1)
	go func() {
		defer m.unplugging.Done()
		defer func() {
			m.mu.Lock()
			if m.unplugged[id] == done {
				delete(m.unplugged, id)
			}
			m.mu.Unlock()
			close(done)
		}()
		for _, v := range veths {
			if err := deleteLink(v); err != nil {
				m.cfg.Log.Warn("delete a container's veth", "id", id, "err", err)
			}
		}
	}()
}

// Release forgets a removed container: its places on every network and
// their addresses.
func (m *Manager) Release(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.nets {
		if _, ok := r.Endpoints[id]; !ok {
			continue
		}
		delete(r.Endpoints, id)
		r.Pool.release(id)
		m.store.saveLater(r)
	}
}

// Settings are container id's network settings for inspect and ps.
func (m *Manager) Settings(id string) *apiv1.NetworkSettings {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := &apiv1.NetworkSettings{Networks: map[string]*apiv1.EndpointSettings{}}
	sb, running := m.sandboxes[id]
	if running {
		s.Ports, s.SandboxKey = sb.ports, sb.ns
		// A VM's host daemon may bind the ports after the start (when it
		// connects later): ask for them as they are now.
		if bp, ok := m.cfg.Publisher.(interface {
			BoundPorts(id string) []*apiv1.PortBinding
		}); ok {
			s.Ports = bp.BoundPorts(id)
		}
	}
	for _, r := range m.nets {
		ep, ok := r.Endpoints[id]
		if !ok {
			continue
		}
		es := &apiv1.EndpointSettings{NetworkId: r.ID, Aliases: ep.Aliases}
		if running {
			es.IpAddress = r.Pool.Leases[id].String()
			es.IpPrefixLen = int32(r.Pool.Subnet.Bits())
			es.Gateway = r.Pool.Gateway.String()
			es.MacAddress = ep.MAC
		}
		s.Networks[r.Name] = es
	}
	return s
}

// refreshHostsLocked rewrites the hosts file of every running container
// on nets (and its other networks). Call with m.mu held.
func (m *Manager) refreshHostsLocked(nets []*record) {
	todo := map[string]bool{}
	for _, r := range nets {
		for id := range r.Endpoints {
			if _, ok := m.sandboxes[id]; ok {
				todo[id] = true
			}
		}
	}
	for id := range todo {
		if err := m.writeHostsLocked(m.sandboxes[id]); err != nil {
			m.cfg.Log.Warn("write a container's hosts file", "id", id, "err", err)
		}
	}
}

// writeHostsLocked writes sb's hosts file in place: it is bind-mounted,
// so a new file renamed over it would not be seen.
func (m *Manager) writeHostsLocked(sb *sandbox) error {
	if sb.c.HostsPath == "" {
		return nil
	}
	var self hostEntry
	var gw netip.Addr
	var peers []hostEntry
	seen := map[string]bool{sb.c.ID: true}
	if name, ok := primary(sb.c.NetworkMode); ok {
		if r, err := m.find(name); err == nil {
			self = hostEntry{Addr: r.Pool.Leases[sb.c.ID], Names: []string{sb.c.Hostname}}
			gw = r.Pool.Gateway
		}
	}
	if m.cfg.HostLoopback.IsValid() {
		gw = m.cfg.HostLoopback
	}
	for _, r := range m.nets {
		// As with docker, names resolve on user networks only.
		if _, ok := r.Endpoints[sb.c.ID]; !ok || r.Name == DefaultName {
			continue
		}
		for id, ep := range r.Endpoints {
			if _, running := m.sandboxes[id]; !running || seen[id] {
				continue
			}
			seen[id] = true
			names := append([]string{ep.Name}, ep.Aliases...)
			peers = append(peers, hostEntry{Addr: r.Pool.Leases[id], Names: names})
		}
	}
	data := hostsFile(self, sb.c.ExtraHosts, gw, peers)
	if err := os.WriteFile(sb.c.HostsPath, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", sb.c.HostsPath, err)
	}
	return nil
}

// Connect joins container c to network ref; a running container gets its
// interface at once.
func (m *Manager) Connect(c Container, ref string, aliases []string) error {
	if _, ok := primary(c.NetworkMode); !ok {
		return fmt.Errorf("container %s uses the %s network and cannot join others: %w", c.Name, c.NetworkMode, errdefs.ErrInvalidArgument)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.find(ref)
	if err != nil {
		return err
	}
	added, err := m.join(r, c, aliases)
	if err != nil {
		return err
	}
	if !added {
		return fmt.Errorf("endpoint with name %s already exists in network %s: %w", c.Name, r.Name, errdefs.ErrConflict)
	}
	sb, running := m.sandboxes[c.ID]
	if !running {
		m.emit(r, "connect", c.ID)
		return nil
	}
	if err := m.plug(sb, r, false); err != nil {
		delete(r.Endpoints, c.ID)
		r.Pool.release(c.ID)
		_ = m.store.save(r)
		return err
	}
	m.refreshHostsLocked([]*record{r})
	m.emit(r, "connect", c.ID)
	return nil
}

// Disconnect takes container c off network ref.
func (m *Manager) Disconnect(c Container, ref string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.find(ref)
	if err != nil {
		return err
	}
	if _, ok := r.Endpoints[c.ID]; !ok {
		return fmt.Errorf("container %s is not connected to network %s: %w", c.Name, r.Name, errdefs.ErrNotFound)
	}
	var errs []error
	m.emit(r, "disconnect", c.ID)
	if sb, running := m.sandboxes[c.ID]; running {
		if v, ok := sb.veths[r.ID]; ok {
			errs = append(errs, deleteLink(v))
			delete(sb.veths, r.ID)
		}
	}
	delete(r.Endpoints, c.ID)
	r.Pool.release(c.ID)
	errs = append(errs, m.store.save(r))
	m.refreshHostsLocked([]*record{r})
	if sb, running := m.sandboxes[c.ID]; running {
		errs = append(errs, m.writeHostsLocked(sb))
	}
	return errors.Join(errs...)
}

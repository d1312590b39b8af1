package network

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/events"
)

// DefaultName is the network a container joins when it names none.
const DefaultName = "bridge"

// Publisher carries connections from host ports to containers. On the
// native driver the agent listens itself; in a VM the host daemon does.
type Publisher interface {
	// Publish binds each of ports (a host port of 0 takes a free one) and
	// carries what arrives to target, the container's address in the
	// network namespace at netns; it returns the ports as bound. On error
	// nothing of id stays bound.
	Publish(ctx context.Context, id string, target netip.Addr, netns string, ports []*apiv1.PortBinding) ([]*apiv1.PortBinding, error)
	// Unpublish closes every port of id; an unknown id is fine.
	Unpublish(id string)
}

// Config is what a Manager is made from.
type Config struct {
	// Root holds the network records and the containers' namespaces.
	Root string
	// Slot numbers this agent among others on the same kernel (native
	// agents of several skiff homes): it picks the default bridge's name
	// and subnet, the pool of user subnets and the nftables table. The
	// machine's agent is alone and uses 0.
	Slot int
	// HostLoopback is the address at which the machine reaches the
	// host's loopback services: containers' host-gateway and
	// host.docker.internal. Invalid (the native agent, which runs on the
	// host) makes them the gateway of a container's network, as docker
	// on Linux does.
	HostLoopback netip.Addr
	Publisher    Publisher
	// Events, when set, hears of networks made and removed and of
	// containers joining and leaving them.
	Events *events.Bus
	Log    *slog.Logger
}

// Manager owns the networks and the containers' places on them. Its
// methods are safe for concurrent use.
type Manager struct {
	cfg   Config
	store store

	mu   sync.Mutex
	nets map[string]*record
	// active are the networks whose bridge is up, by id.
	active map[string]bool
	// sandboxes are the running containers' namespaces, by container id.
	sandboxes map[string]*sandbox
	// unplugging counts the veths of stopped containers still being
	// deleted (Detach); Close waits for them.
	unplugging sync.WaitGroup
	// unplugged is closed, per container id, once its veths are deleted:
	// its next start makes veths of the same names.
	unplugged map[string]chan struct{}
}

// NewManager opens the networks under cfg.Root, making the default one
// the first time, and clears namespaces left by an agent that died.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	m := &Manager{
		cfg:       cfg,
		store:     store{dir: filepath.Join(cfg.Root, "networks"), log: cfg.Log},
		nets:      map[string]*record{},
		active:    map[string]bool{},
		sandboxes: map[string]*sandbox{},
		unplugged: map[string]chan struct{}{},
	}
	recs, err := m.store.loadAll()
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		m.nets[r.ID] = r
	}
	if err := m.ensureDefault(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(m.nsDir(), 0o700); err != nil {
		return nil, fmt.Errorf("create netns dir: %w", err)
	}
	if entries, err := os.ReadDir(m.nsDir()); err == nil {
		for _, e := range entries {
			if err := removeNetns(filepath.Join(m.nsDir(), e.Name())); err != nil {
				cfg.Log.Warn("remove a stale network namespace", "err", err)
			}
		}
	}
	return m, nil
}

func (m *Manager) nsDir() string { return filepath.Join(m.cfg.Root, "netns") }

// defaultSubnet is the default bridge's subnet for the agent's slot:
// 172.30.0.0/16 for the first, then 10.100+slot.0.0/16.
func (m *Manager) defaultSubnet() netip.Prefix {
	if m.cfg.Slot == 0 {
		return netip.MustParsePrefix("172.30.0.0/16")
	}
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(100 + m.cfg.Slot), 0, 0}), 16)
}

func (m *Manager) defaultBridge() string { return fmt.Sprintf("skiff%d", m.cfg.Slot) }

// table is the slot's nftables table.
func (m *Manager) table() string {
	if m.cfg.Slot == 0 {
		return "skiff"
	}
	return fmt.Sprintf("skiff%d", m.cfg.Slot)
}

// ensureDefault makes the default network, or moves it to this slot's
// bridge and subnet when the agent runs in another slot than before.
func (m *Manager) ensureDefault() error {
	subnet := m.defaultSubnet()
	for _, r := range m.nets {
		if r.Name != DefaultName {
			continue
		}
		if r.Bridge == m.defaultBridge() && r.Pool.Subnet == subnet {
			return nil
		}
		p, _ := newPool(subnet, netip.Addr{})
		r.Bridge, r.Pool = m.defaultBridge(), p
		return m.store.save(r)
	}
	p, err := newPool(subnet, netip.Addr{})
	if err != nil {
		return err
	}
	r := &record{ID: newID(), Name: DefaultName, Driver: "bridge", Created: time.Now().UnixNano(), Bridge: m.defaultBridge(), Pool: p, Endpoints: map[string]*endpoint{}}
	m.nets[r.ID] = r
	return m.store.save(r)
}

func newID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// find returns the network named or identified by ref. Call with m.mu
// held.
func (m *Manager) find(ref string) (*record, error) {
	if ref == "" {
		return nil, fmt.Errorf("no network given: %w", errdefs.ErrInvalidArgument)
	}
	for _, r := range m.nets {
		if r.Name == ref || r.ID == ref {
			return r, nil
		}
	}
	var found *record
	for _, r := range m.nets {
		if strings.HasPrefix(r.ID, ref) {
			if found != nil {
				return nil, fmt.Errorf("network %s is ambiguous: give more of the id: %w", ref, errdefs.ErrInvalidArgument)
			}
			found = r
		}
	}
	if found == nil {
		return nil, fmt.Errorf("network %s not found: list networks with skiff network ls, or create it with skiff network create %s: %w", ref, ref, errdefs.ErrNotFound)
	}
	return found, nil
}

// CreateOptions describe a new network.
type CreateOptions struct {
	Name     string
	Driver   string
	Subnet   string
	Gateway  string
	Labels   map[string]string
	Internal bool
}

// Create makes a user network. Its bridge comes up when the first
// container joins it.
func (m *Manager) Create(o CreateOptions) (*apiv1.Network, error) {
	if o.Driver == "" {
		o.Driver = "bridge"
	}
	if o.Driver != "bridge" {
		return nil, fmt.Errorf("network driver %q is not supported: use bridge: %w", o.Driver, errdefs.ErrInvalidArgument)
	}
	if err := checkName(o.Name); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.nets {
		if r.Name == o.Name {
			return nil, fmt.Errorf("network with name %s already exists: choose another name, or remove it with skiff network rm %s: %w", o.Name, o.Name, errdefs.ErrConflict)
		}
	}
	var gw netip.Addr
	if o.Gateway != "" {
		a, err := netip.ParseAddr(o.Gateway)
		if err != nil {
			return nil, fmt.Errorf("invalid gateway %q: %w", o.Gateway, errdefs.ErrInvalidArgument)
		}
		gw = a
	}
	var subnet netip.Prefix
	if o.Subnet != "" {
		p, err := netip.ParsePrefix(o.Subnet)
		if err != nil {
			return nil, fmt.Errorf("invalid subnet %q: use CIDR form, like 10.10.0.0/24: %w", o.Subnet, errdefs.ErrInvalidArgument)
		}
		subnet = p.Masked()
		for _, r := range m.nets {
			if overlaps(r.Pool.Subnet, subnet) {
				return nil, fmt.Errorf("subnet %s overlaps network %s (%s): choose another: %w", subnet, r.Name, r.Pool.Subnet, errdefs.ErrConflict)
			}
		}
	} else {
		p, err := m.freeSubnet()
		if err != nil {
			return nil, err
		}
		subnet = p
	}
	p, err := newPool(subnet, gw)
	if err != nil {
		return nil, err
	}
	id := newID()
	r := &record{ID: id, Name: o.Name, Driver: o.Driver, Created: time.Now().UnixNano(), Labels: o.Labels, Internal: o.Internal,
		Bridge: "skb-" + id[:10], Pool: p, Endpoints: map[string]*endpoint{}}
	if err := m.store.save(r); err != nil {
		return nil, err
	}
	m.nets[id] = r
	m.emit(r, "create", "")
	return m.view(r), nil
}

// freeSubnet picks the first /24 of the slot's pool, 10.128+slot.0.0/16,
// that no network uses. Call with m.mu held.
func (m *Manager) freeSubnet() (netip.Prefix, error) {
	for i := 0; i < 256; i++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(128 + m.cfg.Slot), byte(i), 0}), 24)
		free := true
		for _, r := range m.nets {
			if overlaps(r.Pool.Subnet, p) {
				free = false
				break
			}
		}
		if free {
			return p, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("no free subnet left for a new network: remove unused networks (skiff network prune) or give --subnet: %w", errdefs.ErrUnavailable)
}

func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("a network needs a name: %w", errdefs.ErrInvalidArgument)
	}
	switch name {
	case DefaultName, "host", "none", "default":
		return fmt.Errorf("%s is a pre-defined network and cannot be created: %w", name, errdefs.ErrPermissionDenied)
	}
	for i, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || (i > 0 && (c == '_' || c == '.' || c == '-'))
		if !ok {
			return fmt.Errorf("invalid network name %q: use letters, digits, '_', '.' and '-', starting with a letter or digit: %w", name, errdefs.ErrInvalidArgument)
		}
	}
	return nil
}

// view is r as the API shows it. Call with m.mu held.
func (m *Manager) view(r *record) *apiv1.Network {
	n := &apiv1.Network{
		Id: r.ID, Name: r.Name, Driver: r.Driver, Scope: "local", Created: r.Created,
		Subnet: r.Pool.Subnet.String(), Gateway: r.Pool.Gateway.String(), Labels: r.Labels,
		Internal: r.Internal, Bridge: r.Bridge, Containers: map[string]*apiv1.NetworkContainer{},
	}
	for id, ep := range r.Endpoints {
		if _, running := m.sandboxes[id]; !running {
			continue
		}
		n.Containers[id] = &apiv1.NetworkContainer{
			Name: ep.Name, IpAddress: r.Pool.Leases[id].String(), IpPrefixLen: int32(r.Pool.Subnet.Bits()), MacAddress: ep.MAC,
		}
	}
	return n
}

// List returns the networks, the pre-defined ones first, then by name.
// Filters: name, id, driver, label, type (builtin|custom).
func (m *Manager) List(filters map[string][]string) ([]*apiv1.Network, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*apiv1.Network
	for _, r := range m.nets {
		ok, err := matches(r, filters)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, m.view(r))
		}
	}
	for _, b := range m.builtins() {
		if ok, _ := matches(&record{ID: b.Id, Name: b.Name, Driver: b.Driver}, filters); ok {
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// builtins are host and none, which have no record.
func (m *Manager) builtins() []*apiv1.Network {
	return []*apiv1.Network{
		{Id: builtinID("host"), Name: "host", Driver: "host", Scope: "local"},
		{Id: builtinID("none"), Name: "none", Driver: "null", Scope: "local"},
	}
}

// builtinID is a stable id for a pre-defined network.
func builtinID(name string) string {
	sum := sha256.Sum256([]byte("skiff network " + name))
	return hex.EncodeToString(sum[:])
}

func matches(r *record, filters map[string][]string) (bool, error) {
	for key, vals := range filters {
		if len(vals) == 0 {
			continue
		}
		// A network matches one of a key's values, but every label
		// given, as docker's does.
		ok := key == "label"
		for _, v := range vals {
			switch key {
			case "name":
				ok = ok || strings.Contains(r.Name, v)
			case "id":
				ok = ok || strings.HasPrefix(r.ID, v)
			case "driver":
				ok = ok || r.Driver == v
			case "label":
				k, want, hasVal := strings.Cut(v, "=")
				got, has := r.Labels[k]
				ok = ok && has && (!hasVal || got == want)
			case "type":
				builtin := r.Name == DefaultName || r.Name == "host" || r.Name == "none"
				ok = ok || (v == "builtin" && builtin) || (v == "custom" && !builtin)
			default:
				return false, fmt.Errorf("invalid filter %q: use name, id, driver, label or type: %w", key, errdefs.ErrInvalidArgument)
			}
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

// Inspect returns network ref.
func (m *Manager) Inspect(ref string) (*apiv1.Network, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range m.builtins() {
		if ref == b.Name || ref == b.Id {
			return b, nil
		}
	}
	r, err := m.find(ref)
	if err != nil {
		return nil, err
	}
	return m.view(r), nil
}

// Remove deletes user network ref; one with containers attached is a
// conflict, as with docker.
func (m *Manager) Remove(ref string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.find(ref)
	if err != nil {
		if ref == "host" || ref == "none" {
			return fmt.Errorf("%s is a pre-defined network and cannot be removed: %w", ref, errdefs.ErrPermissionDenied)
		}
		return err
	}
	return m.removeLocked(r)
}

func (m *Manager) removeLocked(r *record) error {
	if r.Name == DefaultName {
		return fmt.Errorf("%s is a pre-defined network and cannot be removed: %w", r.Name, errdefs.ErrPermissionDenied)
	}
	if len(r.Endpoints) > 0 {
		var names []string
		for _, ep := range r.Endpoints {
			names = append(names, ep.Name)
		}
		sort.Strings(names)
		return fmt.Errorf("error while removing network: network %s has active endpoints (%s): remove or disconnect them first: %w", r.Name, strings.Join(names, ", "), errdefs.ErrConflict)
	}
	if err := m.store.remove(r.ID); err != nil {
		return err
	}
	delete(m.nets, r.ID)
	m.emit(r, "destroy", "")
	var errs []error
	if m.active[r.ID] {
		delete(m.active, r.ID)
		errs = append(errs, deleteLink(r.Bridge), m.applyNATLocked())
	}
	return errors.Join(errs...)
}

// Prune removes the user networks no container is attached to.
func (m *Manager) Prune() ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var names []string
	var errs []error
	for _, r := range m.nets {
		if r.Name == DefaultName || len(r.Endpoints) > 0 {
			continue
		}
		if err := m.removeLocked(r); err != nil {
			errs = append(errs, err)
			continue
		}
		names = append(names, r.Name)
	}
	sort.Strings(names)
	return names, errors.Join(errs...)
}

// applyNATLocked writes the NAT table for the active networks. Call with
// m.mu held.
func (m *Manager) applyNATLocked() error {
	var nets []natNet
	for id := range m.active {
		r := m.nets[id]
		if r == nil {
			continue
		}
		nets = append(nets, natNet{Bridge: r.Bridge, Subnet: r.Pool.Subnet, Internal: r.Internal})
	}
	sort.Slice(nets, func(i, j int) bool { return nets[i].Bridge < nets[j].Bridge })
	return applyNAT(m.table(), nets)
}

// activate brings network r's bridge up, with forwarding and NAT. Call
// with m.mu held.
func (m *Manager) activate(r *record) error {
	if m.active[r.ID] {
		return nil
	}
	if err := enableForwarding(); err != nil {
		return err
	}
	if err := ensureBridge(r.Bridge, r.Pool.Gateway, r.Pool.Subnet); err != nil {
		return err
	}
	m.active[r.ID] = true
	if err := m.applyNATLocked(); err != nil {
		delete(m.active, r.ID)
		_ = deleteLink(r.Bridge)
		return err
	}
	return nil
}

// Flush returns once every change to the networks' records is on disk.
func (m *Manager) Flush() { m.store.flush() }

// Close takes down what the agent made in the machine's network: every
// bridge and the NAT table. Containers must be stopped first.
func (m *Manager) Close() error {
	m.unplugging.Wait()
	m.store.flush()
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for id := range m.active {
		if r := m.nets[id]; r != nil {
			errs = append(errs, deleteLink(r.Bridge))
		}
	}
	had := len(m.active) > 0
	m.active = map[string]bool{}
	if had {
		errs = append(errs, applyNAT(m.table(), nil))
	}
	return errors.Join(errs...)
}

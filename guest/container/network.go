package container

import (
	"context"
	"net/netip"
	"slices"
	"sync"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/network"
)

// Network gives containers their networks and published ports;
// guest/network implements it. Without one, containers get a namespace
// with loopback only, whatever their network mode.
type Network interface {
	// Check validates a new container's network and ports.
	Check(c network.Container) error
	// Prepare makes a starting container's network namespace and returns
	// its path, or "" for the runtime's own choice.
	Prepare(ctx context.Context, c network.Container) (string, error)
	// Attach connects a prepared container, while its init is set up.
	Attach(ctx context.Context, c network.Container) error
	// Detach disconnects a stopped container; it is idempotent.
	Detach(id string)
	// Release forgets a removed container.
	Release(id string)
	// Settings are the container's addresses and bound ports.
	Settings(id string) *apiv1.NetworkSettings
}

// hostAddresser is a Network that knows where containers without a
// network of their own reach the host.
type hostAddresser interface {
	HostAddress() netip.Addr
}

// hostAddress is where rec reaches the host (host.docker.internal):
// invalid without a network, or when it is none.
func (m *Manager) hostAddress(rec *apiv1.Container) netip.Addr {
	if ha, ok := m.net.(hostAddresser); ok && rec.GetHostConfig().GetNetworkMode() != "none" {
		return ha.HostAddress()
	}
	return netip.Addr{}
}

// Option configures a Manager.
type Option func(*Manager)

// WithNetwork gives the Manager's containers their networks.
func WithNetwork(n Network) Option { return func(m *Manager) { m.net = n } }

// netContainer is what networking needs of rec.
func netContainer(rec *apiv1.Container) network.Container {
	hc, cfg := rec.GetHostConfig(), rec.GetConfig()
	return network.Container{
		ID: rec.Id, Name: rec.Name, Hostname: cfg.GetHostname(), HostsPath: rec.HostsPath,
		ExtraHosts: hc.GetExtraHosts(), NetworkMode: hc.GetNetworkMode(), Aliases: hc.GetNetworkAliases(),
		Ports: hc.GetPortBindings(), PublishAll: hc.GetPublishAll(), Exposed: cfg.GetExposedPorts(),
	}
}

// mergeExposed adds the image's exposed ports to the container's own.
func mergeExposed(cfg *apiv1.ContainerConfig, img *apiv1.ImageConfig) {
	for _, p := range img.GetExposedPorts() {
		if !slices.Contains(cfg.ExposedPorts, p) {
			cfg.ExposedPorts = append(cfg.ExposedPorts, p)
		}
	}
}

// checkNetwork validates rec's network at create.
func (m *Manager) checkNetwork(rec *apiv1.Container) error {
	if m.net == nil {
		return nil
	}
	return m.net.Check(netContainer(rec))
}

// prepareNetwork makes rec's network namespace at start and returns the
// path to join.
func (m *Manager) prepareNetwork(ctx context.Context, rec *apiv1.Container) (string, error) {
	if m.net == nil {
		return "", nil
	}
	return m.net.Prepare(ctx, netContainer(rec))
}

// attachNetwork connects rec in the background, while its init is set
// up: the returned function waits for the result, and must be called,
// once, before the container's network is detached.
func (m *Manager) attachNetwork(ctx context.Context, rec *apiv1.Container) (wait func() error) {
	if m.net == nil {
		return func() error { return nil }
	}
	c := netContainer(rec)
	done := make(chan error, 1)
	go func() { done <- m.net.Attach(ctx, c) }()
	var once sync.Once
	var err error
	return func() error {
		once.Do(func() { err = <-done })
		return err
	}
}

func (m *Manager) detachNetwork(id string) {
	if m.net != nil {
		m.net.Detach(id)
	}
}

func (m *Manager) releaseNetwork(id string) {
	if m.net != nil {
		m.net.Release(id)
	}
}

// withNetwork fills rec's network settings, for inspect and ps.
func (m *Manager) withNetwork(rec *apiv1.Container) *apiv1.Container {
	if m.net != nil {
		rec.NetworkSettings = m.net.Settings(rec.Id)
	}
	return rec
}

// NetworkContainer resolves ref for a network connect or disconnect.
func (m *Manager) NetworkContainer(ref string) (network.Container, error) {
	c, err := m.get(ref)
	if err != nil {
		return network.Container{}, err
	}
	return netContainer(c.snapshot()), nil
}

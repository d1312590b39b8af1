package agent

import (
	"fmt"
	"path/filepath"

	"github.com/skiffrun/skiff/guest/container"
	"github.com/skiffrun/skiff/guest/events"
	"github.com/skiffrun/skiff/guest/network"
	"github.com/skiffrun/skiff/guest/publish"
)

// slotDir holds the locks by which agents on one kernel share it.
const slotDir = "/run/skiff"

// releaseSlot holds this agent's network slot: the lock is held for the
// agent's life, and referencing it here keeps its file from a finalizer.
var releaseSlot func()

// openNetworks opens the container networks. The machine's agent is the
// only one on its kernel; native agents (one per skiff home) each take a
// slot of their own. Published ports are listened on here, in the
// agent's network namespace, unless cfg says the host does it.
func openNetworks(cfg Config, bus *events.Bus) (*network.Manager, error) {
	slot := 0
	if !cfg.OwnsClock {
		s, release, err := network.AcquireSlot(slotDir)
		if err != nil {
			return nil, err
		}
		releaseSlot = release
		slot = s
	}
	var pub network.Publisher = publish.NewLocal(cfg.Log)
	if cfg.Publisher != nil {
		pub = cfg.Publisher
	}
	m, err := network.NewManager(network.Config{Root: filepath.Join(cfg.Root, "network"), Slot: slot, HostLoopback: cfg.HostLoopback, Publisher: pub, Events: bus, Log: cfg.Log})
	if err != nil {
		return nil, fmt.Errorf("open networks: %w", err)
	}
	return m, nil
}

// networkContainers resolves containers for network connect/disconnect.
type networkContainers struct{ m *container.Manager }

func (n networkContainers) Lookup(ref string) (network.Container, error) {
	return n.m.NetworkContainer(ref)
}

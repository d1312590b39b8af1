package network

import "github.com/skiffrun/skiff/guest/events"

// emit publishes a network event about r, docker's way: the network's
// id, name and driver, and the container it is about, if any.
func (m *Manager) emit(r *record, action, containerID string) {
	if m.cfg.Events == nil {
		return
	}
	attrs := map[string]string{"name": r.Name, "type": r.Driver}
	if containerID != "" {
		attrs["container"] = containerID
	}
	m.cfg.Events.Publish(events.Network, action, r.ID, attrs)
}

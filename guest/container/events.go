package container

import (
	"maps"
	"strconv"
	"strings"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/events"
)

// WithEvents makes the Manager publish its containers' events on b.
func WithEvents(b *events.Bus) Option { return func(m *Manager) { m.events = b } }

// emit publishes a container event about rec: its labels, image and name
// as attributes, as docker's are, and extra on top.
func (m *Manager) emit(rec *apiv1.Container, action string, extra map[string]string) {
	if m.events == nil {
		return
	}
	attrs := maps.Clone(rec.GetConfig().GetLabels())
	if attrs == nil {
		attrs = map[string]string{}
	}
	attrs["image"] = rec.GetImage()
	attrs["name"] = strings.TrimPrefix(rec.GetName(), "/")
	maps.Copy(attrs, extra)
	m.events.Publish(events.Container, action, rec.GetId(), attrs)
}

// emitSignal publishes a kill event with the signal's number.
func (m *Manager) emitSignal(rec *apiv1.Container, sig int) {
	m.emit(rec, "kill", map[string]string{"signal": strconv.Itoa(sig)})
}

// execAction is how docker names an exec event: the action, then the
// command.
func execAction(action string, args []string) string {
	return action + ": " + strings.Join(args, " ")
}

// emitVolumes publishes a volume event (mount, unmount) for each volume
// rec mounts, with docker's attributes.
func (m *Manager) emitVolumes(rec *apiv1.Container, action string) {
	if m.events == nil {
		return
	}
	for _, mp := range rec.GetMounts() {
		if mp.GetType() != mountVolume {
			continue
		}
		prop := mp.GetPropagation()
		m.events.Publish(events.Volume, action, mp.GetName(), map[string]string{
			"container":   rec.GetId(),
			"destination": mp.GetDestination(),
			"driver":      "local",
			"propagation": prop,
			"read/write":  strconv.FormatBool(mp.GetRw()),
		})
	}
}

// Committed publishes docker's container commit event: rec's changes were
// stored as image imageID, named imageRef ("" when untagged).
func (m *Manager) Committed(rec *apiv1.Container, imageID, imageRef, comment string) {
	m.emit(rec, "commit", map[string]string{"comment": comment, "imageID": imageID, "imageRef": imageRef})
}

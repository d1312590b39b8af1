package container

import (
	"path/filepath"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// Usage returns each container's writable layer size, and how many
// containers each image ID has.
func (m *Manager) Usage() ([]*apiv1.ContainerUsage, map[string]int32) {
	var out []*apiv1.ContainerUsage
	byImage := map[string]int32{}
	for _, c := range m.all() {
		c.mu.Lock()
		id, img, removed := c.rec.GetId(), c.rec.GetImageId(), c.removed
		c.mu.Unlock()
		if removed {
			continue
		}
		byImage[img]++
		out = append(out, &apiv1.ContainerUsage{Id: id, SizeRw: dirSize(filepath.Join(c.dir, "upper"))})
	}
	return out, byImage
}

package image

import apiv1 "github.com/skiffrun/skiff/guest/api/v1"

// Usage returns the bytes of every stored layer, counted once, and each
// image's size and shared size (the bytes of its layers that another
// image also lists).
func (s *Store) Usage() (layers int64, images []*apiv1.ImageUsage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	users := map[string]int{}
	for _, rec := range s.st.Images {
		for _, c := range rec.ChainIDs {
			users[c]++
		}
	}
	for _, l := range s.st.Layers {
		layers += l.Size
	}
	for id, rec := range s.st.Images {
		u := &apiv1.ImageUsage{Id: id}
		for _, c := range rec.ChainIDs {
			l := s.st.Layers[c]
			if l == nil {
				continue
			}
			u.Size += l.Size
			if users[c] > 1 {
				u.SharedSize += l.Size
			}
		}
		images = append(images, u)
	}
	return layers, images
}

package system

import (
	"testing"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

func TestDFRows(t *testing.T) {
	u := &Usage{
		LayersSize: 3000,
		Images: []ImageUsage{
			{Image: &apiv1.Image{Id: "a"}, ImageUsage: &apiv1.ImageUsage{Id: "a", Size: 2000, SharedSize: 1000, Containers: 1}},
			{Image: &apiv1.Image{Id: "b"}, ImageUsage: &apiv1.ImageUsage{Id: "b", Size: 2000, SharedSize: 1000}},
		},
		Containers: []ContainerUsage{
			{Container: &apiv1.Container{State: &apiv1.ContainerState{Running: true}}, SizeRw: 100},
			{Container: &apiv1.Container{State: &apiv1.ContainerState{}}, SizeRw: 300},
		},
		Volumes:    []VolumeUsage{{Volume: &apiv1.Volume{Name: "v"}, Size: 500}, {Volume: &apiv1.Volume{Name: "w"}, Size: 500, RefCount: 1}},
		BuildCache: []*apiv1.BuildCacheRecord{{Id: "k1", Size: 700}, {Id: "k2", Size: 700, Shared: true}, {Id: "k3", Size: 50}},
	}
	want := []DFRow{
		{"Images", "2", "1", "3kB", "2kB (66%)"},
		{"Containers", "2", "1", "400B", "300B (75%)"},
		{"Local Volumes", "2", "1", "1kB", "500B (50%)"},
		{"Build Cache", "3", "0", "750B", "750B"},
	}
	got := DFRows(u)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

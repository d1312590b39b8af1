package container

import (
	"errors"
	"fmt"
	"testing"

	"github.com/containerd/errdefs"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// recordingVolumes is a VolumeStore that keeps names in memory and
// records what was made and removed.
type recordingVolumes struct {
	vols    map[string]bool
	made    []string
	removed []string
	failOn  string
}

func (r *recordingVolumes) Create(name string, _ map[string]string) (string, string, bool, error) {
	if name == r.failOn && name != "" {
		return "", "", false, errors.New("disk full")
	}
	if name == "" {
		name = fmt.Sprintf("anon%d", len(r.made))
	}
	if r.vols[name] {
		return name, "/vols/" + name, false, nil
	}
	r.vols[name] = true
	r.made = append(r.made, name)
	return name, "/vols/" + name, true, nil
}

func (r *recordingVolumes) Remove(name string) error {
	if !r.vols[name] {
		return errdefs.ErrNotFound
	}
	delete(r.vols, name)
	r.removed = append(r.removed, name)
	return nil
}

func TestResolveMounts(t *testing.T) {
	vols := &recordingVolumes{vols: map[string]bool{"existing": true}}
	m := &Manager{volumes: vols, byID: map[string]*ctr{}, names: map[string]string{}}
	cfg := &apiv1.ContainerConfig{Volumes: []string{"/anon"}}
	hc := &apiv1.HostConfig{
		Tmpfs: []string{"/run:size=1m"},
		Mounts: []*apiv1.Mount{
			{Type: "bind", Source: "/machine/src", HostSource: "/Users/me/src", Target: "/app/src", ReadOnly: true},
			{Type: "volume", Source: "existing", Target: "/data"},
			{Type: "volume", Source: "fresh", Target: "/app", NoCopy: true},
		},
	}
	img := &apiv1.ImageConfig{Volumes: []string{"/data", "/var/lib/db", "/run"}}
	mps, _, err := m.resolveMounts(cfg, hc, img)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, mp := range mps {
		got = append(got, fmt.Sprintf("%s %s %s->%s rw=%v anon=%v nocopy=%v", mp.Type, mp.Name, mp.Source, mp.Destination, mp.Rw, mp.Anonymous, mp.NoCopy))
	}
	want := []string{
		"volume existing /vols/existing->/data rw=true anon=false nocopy=false",
		"volume fresh /vols/fresh->/app rw=true anon=false nocopy=true",
		"volume anon1 /vols/anon1->/anon rw=true anon=true nocopy=false",
		"bind  /machine/src->/app/src rw=false anon=false nocopy=false",
		"volume anon2 /vols/anon2->/var/lib/db rw=true anon=true nocopy=false",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("mount points:\n%v\nwant:\n%v", got, want)
	}
	if mps[3].HostSource != "/Users/me/src" || mps[3].Propagation != "rprivate" {
		t.Errorf("bind: %v", mps[3])
	}

	// In use by a container: named and anonymous alike; rm -v takes only
	// the anonymous ones.
	rec := &apiv1.Container{Id: "c1", Name: "one", Mounts: mps}
	m.byID["c1"] = newCtr(t.TempDir(), nil, rec, nil)
	if users := m.VolumeUsers("existing"); len(users) != 1 || users[0] != "one" {
		t.Errorf("VolumeUsers = %v", users)
	}
	delete(m.byID, "c1")
	if err := m.releaseVolumes(rec); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(vols.removed) != "[anon1 anon2]" {
		t.Errorf("released %v, want the anonymous ones", vols.removed)
	}

	// A failed create removes the volumes it made, and only those.
	vols.removed = nil
	hc.Mounts = append(hc.Mounts, &apiv1.Mount{Type: "volume", Source: "broken", Target: "/broken"})
	vols.failOn = "broken"
	delete(vols.vols, "fresh")
	if _, _, err := m.resolveMounts(&apiv1.ContainerConfig{}, hc, nil); err == nil {
		t.Fatal("no error from a failing volume")
	}
	if fmt.Sprint(vols.removed) != "[fresh]" || !vols.vols["existing"] {
		t.Errorf("after a failed create removed %v", vols.removed)
	}

	for _, bad := range []*apiv1.Mount{
		{Type: "bind", Source: "/x", Target: "rel"},
		{Type: "bind", Source: "/x", Target: "/"},
		{Type: "bind", Source: "rel", Target: "/x"},
		{Type: "npipe", Source: "x", Target: "/x"},
	} {
		if _, _, err := m.resolveMounts(&apiv1.ContainerConfig{}, &apiv1.HostConfig{Mounts: []*apiv1.Mount{bad}}, nil); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%v: %v, want invalid argument", bad, err)
		}
	}
	dup := &apiv1.HostConfig{Tmpfs: []string{"/x"}, Mounts: []*apiv1.Mount{{Type: "bind", Source: "/a", Target: "/x/"}}}
	if _, _, err := m.resolveMounts(&apiv1.ContainerConfig{}, dup, nil); !errdefs.IsInvalidArgument(err) {
		t.Errorf("a bind over a tmpfs: %v", err)
	}
}

// labelledVolumes is a recordingVolumes that also knows which of its
// volumes are anonymous.
type labelledVolumes struct {
	recordingVolumes
	anon map[string]bool
}

func (l *labelledVolumes) Anonymous(name string) bool { return l.anon[name] }

// TestResolveMountsKeepsAnonymity: an anonymous volume mounted again by
// name (compose's recreate) stays anonymous, so rm -v still removes it.
func TestResolveMountsKeepsAnonymity(t *testing.T) {
	vols := &labelledVolumes{
		recordingVolumes: recordingVolumes{vols: map[string]bool{"0a1b2c": true, "named": true}},
		anon:             map[string]bool{"0a1b2c": true},
	}
	m := &Manager{volumes: vols, byID: map[string]*ctr{}, names: map[string]string{}}
	hc := &apiv1.HostConfig{Mounts: []*apiv1.Mount{
		{Type: "volume", Source: "0a1b2c", Target: "/anon"},
		{Type: "volume", Source: "named", Target: "/named"},
	}}
	mps, _, err := m.resolveMounts(&apiv1.ContainerConfig{}, hc, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &apiv1.Container{Id: "c1", Name: "one", Mounts: mps}
	if err := m.releaseVolumes(rec); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(vols.removed) != "[0a1b2c]" {
		t.Errorf("released %v, want the anonymous volume only", vols.removed)
	}
}

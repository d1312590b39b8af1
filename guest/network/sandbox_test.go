package network

import (
	"fmt"
	"strings"
	"testing"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

func TestBindings(t *testing.T) {
	c := Container{
		Ports: []*apiv1.PortBinding{
			{ContainerPort: 80},
			{HostIp: "0.0.0.0", HostPort: 5353, ContainerPort: 53, Protocol: "udp"},
		},
		PublishAll: true,
		Exposed:    []string{"443/tcp", "80/tcp", "53/udp", "bogus", "9000"},
	}
	var got []string
	for _, b := range bindings(c) {
		got = append(got, fmt.Sprintf("%s:%d->%d/%s", b.HostIp, b.HostPort, b.ContainerPort, b.Protocol))
	}
	// -p items keep their order and get the defaults; -P adds the exposed
	// ports not already published, on loopback, on any free port.
	want := "127.0.0.1:0->80/tcp 0.0.0.0:5353->53/udp 127.0.0.1:0->443/tcp 127.0.0.1:0->9000/tcp"
	if s := strings.Join(got, " "); s != want {
		t.Fatalf("bindings = %s\nwant       %s", s, want)
	}
	c.PublishAll = false
	if n := len(bindings(c)); n != 2 {
		t.Fatalf("without -P, %d bindings; want the 2 of -p", n)
	}
}

func TestCreateNetworks(t *testing.T) {
	m := &Manager{cfg: Config{Root: t.TempDir(), Slot: 3}, nets: map[string]*record{}, active: map[string]bool{}, sandboxes: map[string]*sandbox{}}
	m.store = store{dir: m.cfg.Root}
	if err := m.ensureDefault(); err != nil {
		t.Fatal(err)
	}
	def, _ := m.find(DefaultName)
	if def.Pool.Subnet.String() != "10.103.0.0/16" || def.Bridge != "skiff3" {
		t.Fatalf("default network of slot 3: %s on %s", def.Pool.Subnet, def.Bridge)
	}
	a, err := m.Create(CreateOptions{Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Create(CreateOptions{Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Subnet != "10.131.0.0/24" || b.Subnet != "10.131.1.0/24" {
		t.Fatalf("automatic subnets %s and %s, want the first two /24s of 10.131.0.0/16", a.Subnet, b.Subnet)
	}
	if len(a.Bridge) > 15 {
		t.Fatalf("bridge name %q is longer than an interface name may be", a.Bridge)
	}
	for _, o := range []CreateOptions{
		{Name: "a"},
		{Name: "bridge"},
		{Name: "-x"},
		{Name: "c", Subnet: "10.131.1.128/25"},
		{Name: "c", Driver: "overlay"},
		{Name: "c", Subnet: "10.200.0.0/24", Gateway: "10.201.0.1"},
	} {
		if _, err := m.Create(o); err == nil {
			t.Errorf("Create(%+v) succeeded", o)
		}
	}
	n, err := m.Create(CreateOptions{Name: "c", Subnet: "10.200.0.0/24", Gateway: "10.200.0.254"})
	if err != nil || n.Gateway != "10.200.0.254" {
		t.Fatalf("Create with subnet and gateway: %v, %v", n, err)
	}
	// Names and ids both find a network; the records survive a restart.
	if _, err := m.Inspect(a.Id[:6]); err != nil {
		t.Fatalf("inspect by id prefix: %v", err)
	}
	recs, err := m.store.loadAll()
	if err != nil || len(recs) != 4 {
		t.Fatalf("reloaded %d records, %v; want 4", len(recs), err)
	}
	r, _ := m.find("a")
	r.Endpoints["ctr"] = &endpoint{Name: "web"}
	if err := m.Remove("a"); err == nil || !strings.Contains(err.Error(), "web") {
		t.Fatalf("Remove of a network in use: %v; want an error naming its container", err)
	}
	delete(r.Endpoints, "ctr")
	if err := m.Remove("a"); err != nil {
		t.Fatal(err)
	}
	pruned, err := m.Prune()
	if err != nil || strings.Join(pruned, ",") != "b,c" {
		t.Fatalf("Prune = %v, %v; want b,c", pruned, err)
	}
	if err := m.Remove(DefaultName); err == nil {
		t.Fatal("removed the default network")
	}
}

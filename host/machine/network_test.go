package machine

import (
	"testing"

	"github.com/skiffrun/skiff/platform"
)

func TestConfigNetwork(t *testing.T) {
	dir := t.TempDir()
	if n := (Config{}).network(dir); n.Mode != platform.NetworkUser || n.Link.Stream == "" {
		t.Errorf("a machine with no network set gets %+v, want the user-mode network", n)
	}
	if n := (Config{Network: NetworkNAT}).network(dir); n != platform.UserNAT() {
		t.Errorf("--network nat gives %+v, want the hypervisor's NAT", n)
	}
	if n := (Config{Network: NetworkUser}).network(dir); n.Mode != platform.NetworkUser {
		t.Errorf("--network user gives %+v", n)
	}
}

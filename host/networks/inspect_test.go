package networks

import (
	"testing"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// Only the default bridge names its interface; a user network shows no
// options it was not created with.
func TestInspectOptions(t *testing.T) {
	if got := NewInspect(&apiv1.Network{Name: "bridge", Bridge: "skiff0"}).Options; got["com.docker.network.bridge.name"] != "skiff0" {
		t.Errorf("bridge options %v", got)
	}
	if got := NewInspect(&apiv1.Network{Name: "proj_default", Bridge: "skb-1234"}).Options; len(got) != 0 {
		t.Errorf("user network options %v, want none", got)
	}
}

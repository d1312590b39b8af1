package dockerapi

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
)

func decodeCreate(t *testing.T, body string) *container.CreateRequest {
	t.Helper()
	var req container.CreateRequest
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatal(err)
	}
	return &req
}

// An empty network mode with one endpoint is that network, with the
// endpoint's aliases, as compose and testcontainers send it.
func TestCreateEndpointOnlyNetwork(t *testing.T) {
	req := decodeCreate(t, `{"Image":"busybox","HostConfig":{},
		"NetworkingConfig":{"EndpointsConfig":{"proj_default":{"Aliases":["web","proj-web-1"]}}}}`)
	o, err := createOptions(req, "proj-web-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.Network != "proj_default" || !slices.Equal(o.NetworkAliases, []string{"web", "proj-web-1"}) {
		t.Fatalf("network %q aliases %q", o.Network, o.NetworkAliases)
	}
	creq, err := o.Request()
	if err != nil {
		t.Fatal(err)
	}
	if hc := creq.GetHostConfig(); hc.GetNetworkMode() != "proj_default" || len(hc.GetNetworkAliases()) != 2 {
		t.Fatalf("host config %v", hc)
	}
}

func TestCreateNamedNetworkAliases(t *testing.T) {
	req := decodeCreate(t, `{"Image":"busybox","HostConfig":{"NetworkMode":"n1"},
		"NetworkingConfig":{"EndpointsConfig":{"n1":{"Aliases":["a"]},"n2":{"Aliases":["b"]}}}}`)
	o, err := createOptions(req, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.Network != "n1" || !slices.Equal(o.NetworkAliases, []string{"a"}) {
		t.Fatalf("network %q aliases %q", o.Network, o.NetworkAliases)
	}
	// Two endpoints and no mode: the default bridge, as docker.
	req = decodeCreate(t, `{"Image":"busybox","NetworkingConfig":{"EndpointsConfig":{"n1":{},"n2":{}}}}`)
	if o, err = createOptions(req, "", nil); err != nil || o.Network != "" {
		t.Fatalf("network %q, %v", o.Network, err)
	}
}

func TestCreateHealthcheck(t *testing.T) {
	req := decodeCreate(t, `{"Image":"busybox","Healthcheck":{"Test":["CMD-SHELL","true"],
		"Interval":1000000000,"Timeout":2000000000,"Retries":4,"StartPeriod":3000000000}}`)
	hc, err := healthConfig(req.Healthcheck)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(hc.GetTest(), []string{"CMD-SHELL", "true"}) || hc.GetInterval() != int64(time.Second) ||
		hc.GetTimeout() != int64(2*time.Second) || hc.GetStartPeriod() != int64(3*time.Second) || hc.GetRetries() != 4 {
		t.Fatalf("health %v", hc)
	}
	req = decodeCreate(t, `{"Image":"busybox","Healthcheck":{"Test":["NONE"]}}`)
	if hc, _ = healthConfig(req.Healthcheck); !slices.Equal(hc.GetTest(), []string{"NONE"}) {
		t.Fatalf("health %v", hc)
	}
	if hc, _ = healthConfig(nil); hc != nil {
		t.Fatalf("no healthcheck: %v", hc)
	}
}

// The docker CLI names the default bridge "default" in both places.
func TestCreateDefaultEndpoint(t *testing.T) {
	req := decodeCreate(t, `{"Image":"busybox","HostConfig":{"NetworkMode":"default"},
		"NetworkingConfig":{"EndpointsConfig":{"default":{}}}}`)
	o, err := createOptions(req, "", nil)
	if err != nil || o.Network != "" {
		t.Fatalf("network %q, %v", o.Network, err)
	}
	if primaryNetwork("default") != primaryNetwork(o.Network) {
		t.Fatal("the default endpoint is not the primary network")
	}
}

// docker-py (docker-compose 1.x) sends an empty VolumesFrom for none; a
// non-empty one is refused.
func TestCreateEmptyVolumesFrom(t *testing.T) {
	req := decodeCreate(t, `{"Image":"busybox","HostConfig":{"VolumesFrom":[]}}`)
	if _, err := createOptions(req, "", nil); err != nil {
		t.Fatalf("empty VolumesFrom: %v", err)
	}
	req = decodeCreate(t, `{"Image":"busybox","HostConfig":{"VolumesFrom":["other"]}}`)
	if _, err := createOptions(req, "", nil); err == nil {
		t.Fatal("VolumesFrom [other] was accepted")
	}
}

// A Config.Volumes path under a bind, mount or tmpfs is that mount's
// (docker-compose 1.x sends both); the others are anonymous volumes.
func TestCreateVolumesBesideBinds(t *testing.T) {
	req := decodeCreate(t, `{"Image":"busybox","Volumes":{"/data":{},"/t/":{},"/m":{},"/anon":{}},
		"HostConfig":{"Binds":["proj_data:/data:rw"],"Tmpfs":{"/t":""},
		"Mounts":[{"Type":"volume","Source":"v","Target":"/m"}]}}`)
	o, err := createOptions(req, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.Volumes, []string{"proj_data:/data:rw", "/anon"}) {
		t.Fatalf("volumes %q", o.Volumes)
	}
}

package dockerapi

import (
	"encoding/json"
	"testing"

	"github.com/moby/moby/api/types/container"

	"github.com/skiffrun/skiff/host/opts"
)

// FuzzCreateBody decodes hostile create bodies and filters: nothing may
// panic, and every --mount text made from a body's Mounts must read back
// as the same mount's target (commas and quotes in paths included).
func FuzzCreateBody(f *testing.F) {
	f.Add([]byte(`{"Image":"busybox","Cmd":["sh"],"HostConfig":{"Binds":["/a:/b:ro"],"Mounts":[{"Type":"bind","Source":"/x,y","Target":"/t\"q"}],"PortBindings":{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"}]},"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":3},"Memory":1048576,"NanoCpus":1500000000}}`), `{"label":{"a=b":true}}`)
	f.Add([]byte(`{"Image":"x","Volumes":{"/v":{}},"ExposedPorts":{"53/udp":{}},"HostConfig":{"Tmpfs":{"/run":"size=1m"},"Dns":["1.1.1.1"]}}`), `{"status":["running"]}`)
	f.Add([]byte(`{"HostConfig":{"Mounts":[{"Type":"volume","Target":"/d","VolumeOptions":{"NoCopy":true,"Labels":{"k":"v,w"}}}]}}`), `[]`)
	f.Fuzz(func(t *testing.T, body []byte, filters string) {
		_, _ = parseFilters(filters)
		var req container.CreateRequest
		if json.Unmarshal(body, &req) != nil || req.Config == nil {
			return
		}
		o, err := createOptions(&req, "", nil)
		if err != nil {
			return
		}
		for i, spec := range o.Mounts {
			m, tmpfs, err := opts.MountSpec("mount", spec)
			if err != nil {
				continue
			}
			target := req.HostConfig.Mounts[i].Target
			if tmpfs == "" && m.GetTarget() != target {
				t.Fatalf("mount %q reads back with target %q, want %q", spec, m.GetTarget(), target)
			}
		}
	})
}

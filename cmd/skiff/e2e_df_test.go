//go:build e2e

package main_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestSystemDf shows the disk a container with a volume takes through
// skiff system df (table, -v, --format) and the Docker API.
func TestSystemDf(t *testing.T) {
	name := "e2e-df"
	vol := "e2e-df-vol"
	// Cleanups run last-first: the volume goes after the container that holds it.
	t.Cleanup(func() { skiff(t, "volume", "rm", "-f", vol) })
	cleanup(t, name)
	must(t, "run", "--name", name, "-v", vol+":/data", busybox, "sh", "-c", "head -c 300000 /dev/zero > /data/big; head -c 200000 /dev/zero > /rw")

	lines := strings.Split(must(t, "system", "df"), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "TYPE") || !strings.Contains(lines[0], "RECLAIMABLE") {
		t.Fatalf("system df:\n%s", strings.Join(lines, "\n"))
	}
	for i, want := range []string{"Images", "Containers", "Local Volumes", "Build Cache"} {
		if !strings.HasPrefix(lines[i+1], want+" ") {
			t.Errorf("line %d %q, want %s", i+1, lines[i+1], want)
		}
	}
	rows := map[string]string{}
	for _, l := range strings.Split(must(t, "system", "df", "--format", "{{.Type}}={{.TotalCount}}/{{.Active}}/{{.Size}}"), "\n") {
		k, v, _ := strings.Cut(l, "=")
		rows[k] = v
	}
	if c := rows["Containers"]; c == "" || strings.HasSuffix(c, "/0B") {
		t.Errorf("containers row %q: the container's 200kB are missing", c)
	}
	if v := rows["Local Volumes"]; strings.HasSuffix(v, "/0B") {
		t.Errorf("volumes row %q: the volume's 300kB are missing", v)
	}
	verbose := must(t, "system", "df", "-v")
	for _, want := range []string{"Images space usage:", "Containers space usage:", "Local Volumes space usage:", vol, name, "Build cache usage: "} {
		if !strings.Contains(verbose, want) {
			t.Errorf("system df -v lacks %q:\n%s", want, verbose)
		}
	}

	startForDocker(t)
	code, body := dockerAPI(t, "GET", "/system/df", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /system/df: %d %s", code, body)
	}
	var df struct {
		LayersSize int64
		Images     []struct {
			ID         string `json:"Id"`
			Size       int64
			Containers int64
		}
		Containers []struct {
			Names      []string
			SizeRw     int64
			SizeRootFs int64
		}
		Volumes []struct {
			Name      string
			UsageData struct{ Size, RefCount int64 }
		}
		BuildCache []any
	}
	if err := json.Unmarshal(body, &df); err != nil {
		t.Fatalf("df JSON: %v: %s", err, body)
	}
	if df.LayersSize <= 0 || len(df.Images) == 0 || df.BuildCache == nil {
		t.Errorf("API df: %s", body)
	}
	found := false
	for _, c := range df.Containers {
		if len(c.Names) == 1 && c.Names[0] == "/"+name {
			found = true
			if c.SizeRw < 200000 || c.SizeRootFs <= c.SizeRw {
				t.Errorf("API df container sizes: %+v", c)
			}
		}
	}
	if !found {
		t.Errorf("API df lacks the container: %s", body)
	}
	for _, v := range df.Volumes {
		if v.Name == vol && (v.UsageData.Size < 300000 || v.UsageData.RefCount != 1) {
			t.Errorf("API df volume: %+v", v)
		}
	}
}

//go:build e2e

package main_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// buildCacheRow is system df's Build Cache line: count and size.
func buildCacheRow(t *testing.T, c dockerCLI) (string, string) {
	t.Helper()
	for _, line := range strings.Split(c.must(t, "system", "df", "--format", "{{.Type}}|{{.TotalCount}}|{{.Size}}|{{.Reclaimable}}"), "\n") {
		if f := strings.Split(line, "|"); len(f) == 4 && f[0] == "Build Cache" {
			return f[1], f[2]
		}
	}
	t.Fatal("system df has no Build Cache line")
	return "", ""
}

// TestDockerAPIBuildCache: a build's layer steps show in system df as
// build cache, docker builder prune -f removes them and says what it
// freed (nothing while the image still holds the same layers, their size
// once it is gone), and skiff builder prune does the same.
func TestDockerAPIBuildCache(t *testing.T) {
	startForDocker(t)
	for _, c := range dockerCLIs(t) {
		t.Run(c.name, func(t *testing.T) {
			dir := buildContext(t, map[string]string{"Dockerfile": "FROM " + busybox + "\nRUN head -c 300000 /dev/zero > /big-" + c.name + "\nRUN echo two > /two\n"})
			tag := "e2e-dapi-cache:" + c.name
			t.Cleanup(func() { c.run(t, "", "rmi", "-f", tag) })
			// What earlier builds left goes first, so that what is freed
			// below is this build's.
			c.must(t, "builder", "prune", "-f")
			c.must(t, "build", "-q", "-t", tag, dir)
			if n, _ := buildCacheRow(t, c); n == "0" {
				t.Fatalf("system df lists no build cache after a build with two RUN steps")
			}
			code, body := dockerAPI(t, "GET", "/system/df", nil)
			var df struct {
				BuildCache []struct {
					ID, Type, Description string
					Size                  int64
					Shared                bool
				}
			}
			if code != http.StatusOK || json.Unmarshal(body, &df) != nil || len(df.BuildCache) < 2 {
				t.Fatalf("GET /system/df: %d %s", code, body)
			}
			var found bool
			for _, r := range df.BuildCache {
				found = found || strings.Contains(r.Description, "/big-"+c.name) && r.Size >= 300000 && r.Shared && r.Type == "regular"
			}
			if !found {
				t.Errorf("no build cache record of the RUN step (shared with the image): %s", body)
			}
			// The image holds the same layers: pruning frees nothing yet.
			out := c.must(t, "builder", "prune", "-f")
			if !strings.Contains(out, "Total reclaimed space: 0B") {
				t.Errorf("builder prune while the image holds the layers: %q", out)
			}
			if n, _ := buildCacheRow(t, c); n != "0" {
				t.Errorf("build cache after a prune: %s records", n)
			}
			// Built again from the cache-less builder, then the image goes:
			// now the cache holds the only copy.
			c.must(t, "build", "-q", "-t", tag, dir)
			c.must(t, "rmi", tag)
			if _, size := buildCacheRow(t, c); size == "0B" {
				t.Errorf("build cache without its image has no size")
			}
			out = must(t, "builder", "prune", "-f")
			if !strings.Contains(out, "Deleted build cache objects:") || strings.Contains(out, "Total reclaimed space: 0B") {
				t.Errorf("skiff builder prune after the image went: %q", out)
			}
			if code, body := dockerAPI(t, "POST", "/build/prune?filters="+`{"until":["24h"]}`, nil); code != http.StatusOK || !strings.Contains(string(body), `"CachesDeleted":[]`) {
				t.Errorf("POST /build/prune with until: %d %s", code, body)
			}
			if code, body := dockerAPI(t, "POST", "/build/prune?filters="+`{"private":["true"]}`, nil); code != http.StatusBadRequest {
				t.Errorf("POST /build/prune with an unknown filter: %d %s", code, body)
			}
		})
	}
}

//go:build e2e

package main_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestCommit commits a running container's file and config changes as an
// image, runs the image, and commits again through the Docker API.
func TestCommit(t *testing.T) {
	name := "e2e-commit"
	tag := "localhost/e2e-commit:v1"
	apiTag := "localhost/e2e-commit:api"
	cleanup(t, name)
	removeImages(t, tag, apiTag)
	must(t, "run", "-d", "--name", name, "-e", "FROM_RUN=yes", busybox, "sh", "-c", "echo committed > /made.txt; rm /bin/vi; sleep 300")
	eventually(t, 10*time.Second, "the container's file", func() bool {
		return skiff(t, "exec", name, "cat", "/made.txt").stdout == "committed\n"
	})

	id := must(t, "commit", "-m", "a message", "-a", "someone", "-c", "LABEL e2e=commit", "-c", `CMD ["cat", "/made.txt"]`, name, tag)
	if !strings.HasPrefix(id, "sha256:") {
		t.Fatalf("commit printed %q, want the image ID", id)
	}
	if st := must(t, "inspect", "--format", "{{.State.Status}}", name); st != "running" {
		t.Errorf("the container after commit: %s", st)
	}
	if out := must(t, "run", "--rm", tag); out != "committed" {
		t.Errorf("the committed image's CMD printed %q", out)
	}
	if out := must(t, "run", "--rm", tag, "sh", "-c", "echo $FROM_RUN; test -e /bin/vi || echo vi-gone"); out != "yes\nvi-gone" {
		t.Errorf("the committed image's env and deletion: %q", out)
	}
	if l := must(t, "image", "inspect", "--format", "{{index .Config.Labels \"e2e\"}}", tag); l != "commit" {
		t.Errorf("image inspect: %q", l)
	}
	if h := must(t, "history", "--format", "{{.Comment}}", tag); !strings.HasPrefix(h, "a message\n") {
		t.Errorf("history of the commit: %q", h)
	}
	if r := skiff(t, "commit", "no-such-container-here"); r.code == 0 || !strings.Contains(r.stderr, "no-such-container-here") {
		t.Errorf("commit of a missing container: %s", r)
	}

	startForDocker(t)
	code, body := dockerAPI(t, "POST", "/commit?container="+name+"&repo=localhost/e2e-commit&tag=api&comment=via+api&changes=ENV+API%3D1", nil)
	if code != http.StatusCreated {
		t.Fatalf("POST /commit: %d %s", code, body)
	}
	var resp struct {
		ID string `json:"Id"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || !strings.HasPrefix(resp.ID, "sha256:") {
		t.Fatalf("POST /commit answered %s (%v)", body, err)
	}
	if out := must(t, "run", "--rm", apiTag, "sh", "-c", "echo $API; cat /made.txt"); out != "1\ncommitted" {
		t.Errorf("the API's image: %q", out)
	}
	if code, body := dockerAPI(t, "POST", "/commit?container=no-such-container-here", nil); code != http.StatusNotFound {
		t.Errorf("POST /commit of a missing container: %d %s", code, body)
	}
}

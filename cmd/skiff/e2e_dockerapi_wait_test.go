//go:build e2e

package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// waitReply is one answer of POST /containers/{id}/wait.
type waitReply struct {
	status int
	body   string
	err    error
}

// waitAsync starts POST /containers/{name}/wait?query and returns where
// its answer will come.
func waitAsync(path string) <-chan waitReply {
	ch := make(chan waitReply, 1)
	go func() {
		resp, err := dockerHTTP().Post("http://docker"+path, "application/json", nil)
		if err != nil {
			ch <- waitReply{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		ch <- waitReply{status: resp.StatusCode, body: strings.TrimSpace(string(b)), err: err}
	}()
	return ch
}

// waitCode reads the StatusCode of a wait's body.
func waitCode(t *testing.T, r waitReply) int {
	t.Helper()
	if r.err != nil || r.status != http.StatusOK {
		t.Fatalf("wait: status %d, %s, %v", r.status, r.body, r.err)
	}
	var v struct {
		StatusCode int
		Error      *struct{ Message string }
	}
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("wait body %q: %v", r.body, err)
	}
	if v.Error != nil {
		t.Fatalf("wait: error %q", v.Error.Message)
	}
	return v.StatusCode
}

// pending fails unless ch stays silent for d.
func pending(t *testing.T, ch <-chan waitReply, d time.Duration, what string) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("%s returned early: %d %s %v", what, r.status, r.body, r.err)
	case <-time.After(d):
	}
}

func reply(t *testing.T, ch <-chan waitReply, what string) waitReply {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(time.Minute):
		t.Fatalf("%s did not return", what)
		return waitReply{}
	}
}

// TestDockerAPIWait: docker run's exit codes with and without --rm (the
// CLI waits with next-exit and removed), docker wait, and the conditions
// through the raw API: next-exit waits past a stopped container's exit for
// the next one, removed returns only once the container is gone, and API
// versions before 1.30 know no condition.
func TestDockerAPIWait(t *testing.T) {
	startForDocker(t)
	for _, c := range dockerCLIs(t) {
		t.Run(c.name, func(t *testing.T) {
			rmName, name := "e2e-dapi-wait-rm-"+c.name, "e2e-dapi-wait-"+c.name
			cleanup(t, rmName, name)
			for range 3 {
				if r := c.run(t, "", "run", "--rm", "--name", rmName, busybox, "sh", "-c", "exit 7"); r.code != 7 {
					t.Fatalf("docker run --rm of exit 7: %s", r)
				}
				// removed answered after the removal: the name is free.
				if r := c.run(t, "", "inspect", rmName); r.code == 0 {
					t.Fatalf("docker run --rm returned before the container was removed")
				}
			}
			if r := c.run(t, "", "run", "--name", name, busybox, "sh", "-c", "test -f /ran && exit 9; touch /ran; exit 4"); r.code != 4 {
				t.Fatalf("docker run of exit 4: %s", r)
			}
			if got := c.must(t, "wait", name); got != "4" {
				t.Errorf("docker wait of an exited container: %q, want 4", got)
			}

			next := waitAsync("/v1.44/containers/" + name + "/wait?condition=next-exit")
			pending(t, next, 2*time.Second, "next-exit on a stopped container")
			notRunning := waitAsync("/v1.44/containers/" + name + "/wait?condition=not-running")
			if got := waitCode(t, reply(t, notRunning, "not-running")); got != 4 {
				t.Errorf("not-running on a stopped container: %d, want 4", got)
			}
			legacy := waitAsync("/v1.29/containers/" + name + "/wait?condition=next-exit")
			if got := waitCode(t, reply(t, legacy, "wait at API 1.29")); got != 4 {
				t.Errorf("wait at API 1.29 (no conditions yet): %d, want 4", got)
			}
			c.must(t, "start", name)
			if got := waitCode(t, reply(t, next, "next-exit")); got != 9 {
				t.Errorf("next-exit after a start: %d, want the second run's 9", got)
			}

			removed := waitAsync("/v1.44/containers/" + name + "/wait?condition=removed")
			pending(t, removed, 2*time.Second, "removed on a container not removed")
			c.must(t, "rm", name)
			if got := waitCode(t, reply(t, removed, "removed")); got != 9 {
				t.Errorf("removed: %d, want the last exit 9", got)
			}
			if code, _ := dockerAPI(t, "GET", "/containers/"+name+"/json", nil); code != http.StatusNotFound {
				t.Errorf("inspect after the removed wait: %d, want 404", code)
			}

			if code, body := dockerAPI(t, "POST", "/containers/"+name+"/wait", nil); code != http.StatusNotFound {
				t.Errorf("wait on a missing container: %d %s, want 404", code, body)
			}
			if code, body := dockerAPI(t, "POST", fmt.Sprintf("/containers/%s/wait?condition=soon", rmName), nil); code != http.StatusBadRequest || !strings.Contains(string(body), `invalid condition: \"soon\"`) {
				t.Errorf("wait with a bad condition: %d %s, want 400", code, body)
			}
		})
	}
}

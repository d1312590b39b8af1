//go:build e2e

package main_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// dockerAPI calls the machine's docker socket directly and returns the
// status and body. A path without a /v1.N prefix gets /v1.44.
func dockerAPI(t *testing.T, method, path string, body io.Reader) (int, []byte) {
	t.Helper()
	c := dockerHTTP()
	if !strings.HasPrefix(path, "/v1.") {
		path = "/v1.44" + path
	}
	req, err := http.NewRequest(method, "http://docker"+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, path, err)
	}
	return resp.StatusCode, b
}

// dockerHTTP is an HTTP client of the machine's docker socket.
func dockerHTTP() *http.Client {
	return &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", dockerSocket())
		},
	}}
}

// TestHistory builds an image with a layer and a metadata step, and reads
// its history through skiff history and the Docker API.
func TestHistory(t *testing.T) {
	tag := "localhost/e2e-history:latest"
	removeImages(t, tag)
	dir := buildContext(t, map[string]string{"Dockerfile": "FROM " + busybox + "\nRUN echo hello > /hello.txt\nLABEL e2e=history\n"})
	id, _ := buildOK(t, "-q", "-t", tag, dir)

	lines := strings.Split(must(t, "history", tag), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "IMAGE") || !strings.Contains(lines[0], "CREATED BY") || !strings.Contains(lines[0], "COMMENT") {
		t.Fatalf("history table:\n%s", strings.Join(lines, "\n"))
	}
	if !strings.HasPrefix(lines[1], strings.TrimPrefix(id, "sha256:")[:12]+" ") || !strings.Contains(lines[1], "LABEL") {
		t.Errorf("newest line %q, want the image's short ID and the LABEL step", lines[1])
	}
	if !strings.Contains(lines[2], "<missing>") || !strings.Contains(lines[2], "RUN") {
		t.Errorf("second line %q, want <missing> and the RUN step", lines[2])
	}

	ids := strings.Split(must(t, "history", "-q", "--no-trunc", tag), "\n")
	if ids[0] != id || ids[1] != "<missing>" {
		t.Errorf("history -q --no-trunc: %q", ids)
	}
	raw := strings.Split(must(t, "history", "-H=false", "--format", "{{.Size}}|{{.CreatedSince}}|{{.CreatedBy}}", tag), "\n")
	if len(raw) != len(lines)-1 {
		t.Fatalf("--format printed %d lines, the table %d", len(raw), len(lines)-1)
	}
	run := strings.Split(raw[1], "|")
	if run[0] == "0" || strings.Contains(run[1], "ago") || !strings.Contains(run[2], "echo hello") {
		t.Errorf("-H=false line of the RUN step: %q", raw[1])
	}
	if r := skiff(t, "history", "localhost/no-such-image-here"); r.code == 0 || !strings.Contains(r.stderr, "no-such-image-here") {
		t.Errorf("history of a missing image: %s", r)
	}

	startForDocker(t)
	code, body := dockerAPI(t, "GET", "/images/"+tag+"/history", nil)
	if code != http.StatusOK {
		t.Fatalf("GET history: %d %s", code, body)
	}
	var items []struct {
		ID        string `json:"Id"`
		Created   int64
		CreatedBy string
		Tags      []string
		Size      int64
		Comment   string
	}
	if err := json.Unmarshal(body, &items); err != nil {
		t.Fatalf("history JSON: %v: %s", err, body)
	}
	if len(items) != len(lines)-1 || items[0].ID != id || len(items[0].Tags) != 1 || items[0].Tags[0] != "localhost/e2e-history:latest" {
		t.Fatalf("API history: %s", body)
	}
	if items[1].ID != "<missing>" || items[1].Size == 0 || items[1].Created < time.Now().Add(-time.Hour).Unix() || items[1].Created > time.Now().Unix()+60 {
		t.Errorf("API history of the RUN step: %+v", items[1])
	}
	if code, body := dockerAPI(t, "GET", "/images/localhost/no-such-image-here/history", nil); code != http.StatusNotFound {
		t.Errorf("GET history of a missing image: %d %s", code, body)
	}
}

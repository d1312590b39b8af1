//go:build e2e

package main_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDockerAPICommitConfig: docker commit's author, message and changes
// show in image inspect, a commit event is published as docker's
// "container commit", and the raw API's body config (Cmd, Env, Labels,
// ExposedPorts) is merged over the container's.
func TestDockerAPICommitConfig(t *testing.T) {
	startForDocker(t)
	for _, c := range dockerCLIs(t) {
		t.Run(c.name, func(t *testing.T) {
			name := "e2e-dapi-commit-" + c.name
			tag := "localhost/e2e-dapi-commit:" + c.name
			bodyTag := "localhost/e2e-dapi-commit:body-" + c.name
			cleanup(t, name)
			removeImages(t, tag, bodyTag)
			c.must(t, "run", "-d", "--name", name, "-e", "KEEP=1", "-l", "from=run", busybox, "sh", "-c", "echo made > /made; sleep 300")
			since := strconv.FormatInt(time.Now().Unix()-1, 10)
			c.must(t, "commit", "-a", "A. Author", "-m", "the message", "-c", "EXPOSE 8080", "-c", "ENV ADDED=2", name, tag)
			got := c.must(t, "image", "inspect", "--format", "{{.Author}}|{{.Comment}}|{{json .Config.ExposedPorts}}|{{json .Config.Env}}", tag)
			if !strings.HasPrefix(got, `A. Author|the message|{"8080/tcp":{}}|`) || !strings.Contains(got, `"KEEP=1"`) || !strings.Contains(got, `"ADDED=2"`) {
				t.Errorf("image inspect of the commit: %s", got)
			}
			until := strconv.FormatInt(time.Now().Unix()+1, 10)
			ev := c.must(t, "events", "--since", since, "--until", until, "--filter", "event=commit", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.comment}}")
			if !strings.Contains(ev, "container commit "+name+" the message") {
				t.Errorf("events after the commit: %q", ev)
			}

			repo, tg, _ := strings.Cut(bodyTag, ":")
			body := `{"Cmd":["cat","/made"],"Env":["BODY=3"],"Labels":{"from":"body","more":"yes"},"ExposedPorts":{"9090/udp":{}}}`
			code, resp := dockerAPI(t, "POST", "/commit?container="+name+"&repo="+repo+"&tag="+tg+"&changes=LABEL+change%3D1", strings.NewReader(body))
			if code != http.StatusCreated {
				t.Fatalf("POST /commit with a config: %d %s", code, resp)
			}
			got = c.must(t, "image", "inspect", "--format", "{{json .Config.Cmd}}|{{json .Config.Labels}}|{{json .Config.ExposedPorts}}", bodyTag)
			if got != `["cat","/made"]|{"change":"1","from":"body","more":"yes"}|{"9090/udp":{}}` {
				t.Errorf("image inspect of the body's commit: %s", got)
			}
			if out := c.must(t, "run", "--rm", bodyTag); out != "made" {
				t.Errorf("the body's Cmd ran: %q", out)
			}
			if out := c.must(t, "run", "--rm", bodyTag, "sh", "-c", "echo $KEEP$BODY"); out != "13" {
				t.Errorf("the body's Env over the container's: %q", out)
			}
			if code, resp := dockerAPI(t, "POST", "/commit?container="+name, strings.NewReader("{not json")); code != http.StatusBadRequest {
				t.Errorf("POST /commit with malformed JSON: %d %s", code, resp)
			}
		})
	}
}

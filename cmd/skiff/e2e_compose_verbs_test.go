//go:build e2e

package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// composeProc is a skiff compose left running (logs -f, events, watch).
type composeProc struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

// composeStart starts skiff compose in dir and stops it when the test
// ends; its stdout and stderr go to one buffer.
func composeStart(t *testing.T, dir string, args ...string) *composeProc {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "skiff"), append([]string{"compose"}, args...)...)
	cmd.Dir = dir
	cmd.Env = env()
	p := &composeProc{cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("skiff compose %v: %v", args, err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop interrupts compose, as Ctrl-C would, and kills it if it lingers.
func (p *composeProc) stop(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("skiff compose %v did not end on an interrupt", p.cmd.Args[2:])
	}
}

// waitFor waits until compose has printed want.
func (p *composeProc) waitFor(t *testing.T, d time.Duration, want string) {
	t.Helper()
	eventually(t, d, fmt.Sprintf("%q from skiff compose %v (so far: %q)", want, p.cmd.Args[2:], p.out.String()), func() bool {
		return strings.Contains(p.out.String(), want)
	})
}

// freePorts finds n consecutive free loopback ports.
func freePorts(t *testing.T, n int) int {
	t.Helper()
	for try := 0; try < 50; try++ {
		first := freeTCPPort(t)
		ok := true
		for i := 1; i < n && ok; i++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", first+i))
			if err != nil {
				ok = false
				continue
			}
			l.Close()
		}
		if ok {
			return first
		}
	}
	t.Fatalf("no %d consecutive free ports", n)
	return 0
}

// httpGet fetches url and returns its body, trimmed.
// A container counts as running once its process starts, before its
// server listens: a GET right after a start or restart is retried while
// the connection fails, for up to 20 s.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := c.Get(url)
		if err == nil {
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return strings.TrimSpace(string(body))
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestComposeVerbs runs compose's commands on a running project and
// checks what each did: config, ls, top, port (a published range),
// images, cp both ways, logs -f, events, pause and unpause, stop, start,
// restart, kill and rm.
func TestComposeVerbs(t *testing.T) {
	project := "e2e-compose-verbs"
	port := freePorts(t, 2)
	dir := composeProject(t, fmt.Sprintf(`name: %s
services:
  web:
    image: %s
    command: ["sh", "-c", "mkdir -p /www /www2 && echo first > /www/index.html && echo second > /www2/index.html && busybox httpd -p 8081 -h /www2 && exec busybox httpd -f -p 8080 -h /www"]
    ports:
      - "127.0.0.1:%d-%d:8080-8081"
  ticker:
    image: %s
    command: ["sh", "-c", "while true; do echo tick; sleep 1; done"]
`, project, busybox, port, port+1, busybox))
	composeDown(t, dir, project)
	mustCompose(t, dir, "up", "-d", "--wait")

	// config: the project as compose resolved it.
	// compose lists the services in no fixed order.
	if out := strings.Fields(mustCompose(t, dir, "config", "--services")); len(out) != 2 || !slices.Contains(out, "ticker") || !slices.Contains(out, "web") {
		t.Errorf("config --services: %q", out)
	}
	var cfg struct {
		Name     string
		Services map[string]struct {
			Ports []struct {
				Target    int
				Published string
			}
		}
	}
	if err := json.Unmarshal([]byte(mustCompose(t, dir, "config", "--format", "json")), &cfg); err != nil {
		t.Fatalf("config --format json: %v", err)
	}
	if cfg.Name != project || len(cfg.Services["web"].Ports) != 2 || cfg.Services["web"].Ports[1].Published != fmt.Sprint(port+1) {
		t.Errorf("config --format json: %+v", cfg)
	}

	// ls: the running project and its file.
	var ls []struct{ Name, Status, ConfigFiles string }
	if err := json.Unmarshal([]byte(mustCompose(t, dir, "ls", "--format", "json")), &ls); err != nil {
		t.Fatalf("ls --format json: %v", err)
	}
	found := false
	for _, p := range ls {
		if p.Name == project {
			found = true
			if p.Status != "running(2)" || p.ConfigFiles != filepath.Join(dir, "compose.yaml") {
				t.Errorf("ls: %+v", p)
			}
		}
	}
	if !found {
		t.Errorf("ls does not list %s: %+v", project, ls)
	}

	// top: each service's processes.
	if out := mustCompose(t, dir, "top"); !strings.Contains(out, "busybox httpd -f -p 8080") || !strings.Contains(out, "sleep 1") {
		t.Errorf("top: %s", out)
	}

	// port and the published range: each port reaches its own server.
	if out := strings.TrimSpace(mustCompose(t, dir, "port", "web", "8081")); out != fmt.Sprintf("127.0.0.1:%d", port+1) {
		t.Errorf("port web 8081: %q", out)
	}
	if got := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); got != "first" {
		t.Errorf("port %d served %q", port, got)
	}
	if got := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port+1)); got != "second" {
		t.Errorf("port %d served %q", port+1, got)
	}

	// images: the image under each container.
	if out := mustCompose(t, dir, "images"); !strings.Contains(out, project+"-web-1") || !strings.Contains(out, "localhost/busybox") {
		t.Errorf("images: %s", out)
	}

	// cp into the service (served at once) and back out.
	host := filepath.Join(t.TempDir(), "page.html")
	if err := os.WriteFile(host, []byte("copied in\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustCompose(t, dir, "cp", host, "web:/www/page.html")
	if got := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/page.html", port)); got != "copied in" {
		t.Errorf("the copied page is served as %q", got)
	}
	back := filepath.Join(t.TempDir(), "index.html")
	mustCompose(t, dir, "cp", "web:/www/index.html", back)
	if data, err := os.ReadFile(back); err != nil || string(data) != "first\n" {
		t.Errorf("cp out of the service: %q, %v", data, err)
	}

	// logs -f follows: a line written after it started arrives.
	logs := composeStart(t, dir, "logs", "-f", "--no-color", "ticker")
	logs.waitFor(t, 20*time.Second, "ticker-1  | tick")
	mustCompose(t, dir, "exec", "-T", "ticker", "sh", "-c", "echo followed line > /proc/1/fd/1")
	logs.waitFor(t, 20*time.Second, "ticker-1  | followed line")

	events := composeStart(t, dir, "events", "--json")
	time.Sleep(time.Second) // the events stream is open before the first event

	// pause and unpause: the service's state and the events that say so.
	mustCompose(t, dir, "pause", "web")
	if ps := composePs(t, dir); ps["web"].State != "paused" {
		t.Errorf("after pause web is %+v", ps["web"])
	}
	mustCompose(t, dir, "unpause", "web")
	if ps := composePs(t, dir); ps["web"].State != "running" {
		t.Errorf("after unpause web is %+v", ps["web"])
	}
	if got := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); got != "first" {
		t.Errorf("after unpause the web served %q", got)
	}
	events.waitFor(t, 20*time.Second, `"action":"unpause"`)
	checkComposeEvents(t, events.out.String(), project, "web", "pause", "unpause")

	// stop and start.
	mustCompose(t, dir, "stop", "-t", "1", "ticker")
	if ps := composePs(t, dir); ps["ticker"].State != "exited" {
		t.Errorf("after stop ticker is %+v", ps["ticker"])
	}
	mustCompose(t, dir, "start", "ticker")
	if ps := composePs(t, dir); ps["ticker"].State != "running" {
		t.Errorf("after start ticker is %+v", ps["ticker"])
	}

	// restart: a new start of the same container.
	before := must(t, "inspect", "--format", "{{.Id}} {{.State.StartedAt}}", project+"-web-1")
	mustCompose(t, dir, "restart", "-t", "1", "web")
	after := must(t, "inspect", "--format", "{{.Id}} {{.State.StartedAt}}", project+"-web-1")
	if strings.Fields(before)[0] != strings.Fields(after)[0] || before == after {
		t.Errorf("restart: before %q, after %q; want the same container started again", before, after)
	}
	if got := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); got != "first" {
		t.Errorf("after restart the web served %q", got)
	}

	// kill: down at once, with SIGKILL's status.
	mustCompose(t, dir, "kill", "ticker")
	if ps := composePs(t, dir); ps["ticker"].State != "exited" || ps["ticker"].ExitCode != 137 {
		t.Errorf("after kill ticker is %+v, want exited with 137", ps["ticker"])
	}
	events.waitFor(t, 20*time.Second, `"action":"die"`)
	checkComposeEvents(t, events.out.String(), project, "ticker", "kill", "die")

	// rm: the stopped service's container goes.
	mustCompose(t, dir, "rm", "-f", "ticker")
	if ps := composePs(t, dir); len(ps) != 1 || ps["web"].State != "running" {
		t.Errorf("after rm ticker: %+v", ps)
	}

	mustCompose(t, dir, "down", "-t", "1")
	assertProjectGone(t, project)
	assertNotListening(t, port, port+1)
}

// checkComposeEvents checks that compose events --json printed each
// action for service's containers.
func checkComposeEvents(t *testing.T, out, project, service string, actions ...string) {
	t.Helper()
	seen := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		var e struct {
			Action, Service, Type string
			Attributes            map[string]string
		}
		if json.Unmarshal([]byte(line), &e) != nil || e.Service != service || e.Type != "container" {
			continue
		}
		if !strings.HasPrefix(e.Attributes["name"], project+"-"+service+"-") {
			t.Errorf("event %s of %s names %q", e.Action, service, e.Attributes["name"])
		}
		seen[e.Action] = true
	}
	for _, a := range actions {
		if !seen[a] {
			t.Errorf("events --json: no %s of %s in\n%s", a, service, out)
		}
	}
}

// assertNotListening checks that nothing listens on the loopback ports.
func assertNotListening(t *testing.T, ports ...int) {
	t.Helper()
	for _, p := range ports {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), time.Second); err == nil {
			c.Close()
			t.Errorf("port %d still listens after down", p)
		}
	}
}

// TestComposeAttachedUp: up in the foreground prints each container's
// lines after its name-1  | prefix and returns when they have exited.
func TestComposeAttachedUp(t *testing.T) {
	project := "e2e-compose-attached"
	dir := composeProject(t, fmt.Sprintf(`name: %s
services:
  one:
    image: %s
    command: ["sh", "-c", "echo line from one; sleep 1; echo second from one"]
  two:
    image: %s
    command: ["sh", "-c", "echo line from two; exit 3"]
`, project, busybox, busybox))
	composeDown(t, dir, project)
	r := composeIn(t, dir, 2*time.Minute, "up", "--no-color")
	if r.code != 0 {
		t.Fatalf("up: %s", r)
	}
	for _, want := range []string{
		"Attaching to one-1, two-1",
		"one-1  | line from one\n",
		"one-1  | second from one\n",
		"two-1  | line from two\n",
		"two-1 exited with code 3",
		"one-1 exited with code 0",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("up printed no %q:\n%s", want, r.stdout)
		}
	}
	// --exit-code-from hands back a service's exit code.
	r = composeIn(t, dir, 2*time.Minute, "up", "--no-color", "--exit-code-from", "two")
	if r.code != 3 {
		t.Errorf("up --exit-code-from two: %s; want exit 3", r)
	}
	mustCompose(t, dir, "down", "-t", "1")
	assertProjectGone(t, project)
}

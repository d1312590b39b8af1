//go:build e2e

package main_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// The Docker API tests drive the machine's docker socket with docker
// CLIs skiff did not write: the current one, built from docker/cli
// (scripts/build-clients), and Debian's 20.10 (API 1.41, from the
// docker.io package, scripts/fetch-docker-client). make e2e fetches both.

// dockerCLI is one docker client under test.
type dockerCLI struct {
	name string
	path string
	// config is the client's own DOCKER_CONFIG, so that no user setting
	// (a current context, credentials) leaks in.
	config string
}

// dockerCLIs returns the clients, failing the test when one is missing.
func dockerCLIs(t *testing.T) []dockerCLI {
	t.Helper()
	root := filepath.Join(filepath.Dir(binDir), "build", "clients")
	var out []dockerCLI
	for _, c := range []struct{ name, path string }{
		{"current", filepath.Join(root, "docker")},
		{"debian-20.10", filepath.Join(root, "debian", "usr", "bin", "docker")},
	} {
		if _, err := os.Stat(c.path); err != nil {
			t.Fatalf("docker client %s is missing (%v): fetch the clients with make clients", c.name, err)
		}
		out = append(out, dockerCLI{name: c.name, path: c.path, config: t.TempDir()})
	}
	return out
}

func dockerSocket() string {
	return filepath.Join(skiffHome, "machines", "default", "docker.sock")
}

func (c dockerCLI) env() []string {
	return append(env(), "DOCKER_HOST=unix://"+dockerSocket(), "DOCKER_CONFIG="+c.config, "DOCKER_BUILDKIT=0", "DOCKER_CLI_HINTS=false")
}

// run runs the client with stdin and returns what it printed.
func (c dockerCLI) run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.path, args...)
	cmd.Env = c.env()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("docker %v: %v", args, err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// must runs the client and fails the test unless it exits 0.
func (c dockerCLI) must(t *testing.T, args ...string) string {
	t.Helper()
	r := c.run(t, "", args...)
	if r.code != 0 {
		t.Fatalf("docker (%s) %s: %s", c.name, strings.Join(args, " "), r)
	}
	return strings.TrimSpace(r.stdout)
}

// startForDocker starts the machine, which serves its docker socket.
func startForDocker(t *testing.T) {
	t.Helper()
	must(t, "machine", "start")
	if _, err := os.Stat(dockerSocket()); err != nil {
		t.Fatalf("the machine serves no docker socket: %v", err)
	}
	st, err := os.Stat(dockerSocket())
	if err == nil && st.Mode().Perm() != 0o600 {
		t.Errorf("docker socket mode %v, want 0600", st.Mode().Perm())
	}
}

func TestDockerAPIRun(t *testing.T) {
	startForDocker(t)
	for _, c := range dockerCLIs(t) {
		t.Run(c.name, func(t *testing.T) {
			if v := c.must(t, "version", "--format", "{{.Server.APIVersion}}"); v != "1.44" {
				t.Errorf("server API version %q, want 1.44", v)
			}
			r := c.run(t, "", "run", "--rm", busybox, "sh", "-c", "echo out; echo err >&2; exit 3")
			if r.code != 3 || r.stdout != "out\n" || r.stderr != "err\n" {
				t.Fatalf("run: %s", r)
			}
			// stdin reaches the container, and its end (the client's
			// half-close) ends cat.
			r = c.run(t, "line one\nline two\n", "run", "--rm", "-i", busybox, "cat")
			if r.code != 0 || r.stdout != "line one\nline two\n" {
				t.Fatalf("run -i: %s", r)
			}
			r = c.run(t, "", "run", "--rm", "localhost/no-such-image-here")
			if r.code != 125 || !strings.Contains(r.stderr, "no-such-image-here") {
				t.Fatalf("run of a missing image: %s", r)
			}
		})
	}
}

func TestDockerAPIDetached(t *testing.T) {
	startForDocker(t)
	for _, c := range dockerCLIs(t) {
		t.Run(c.name, func(t *testing.T) {
			name := "e2e-dapi-" + c.name
			cleanup(t, name)
			dir := t.TempDir()
			port := freePort(t)
			c.must(t, "run", "-d", "--name", name, "-p", fmt.Sprintf("127.0.0.1:%d:80", port), "-v", dir+":/data",
				"-e", "GREETING=hi", "--label", "e2e.dapi="+c.name, busybox, "sh", "-c",
				`echo started; echo "$GREETING" > /data/greeting; while true; do echo -e "HTTP/1.0 200 OK\r\n\r\nserved" | nc -l -p 80; done`)
			if ps := c.must(t, "ps", "--filter", "label=e2e.dapi="+c.name, "--format", "{{.Names}} {{.Status}}"); !strings.HasPrefix(ps, name+" Up") {
				t.Fatalf("ps: %q", ps)
			}
			if p := c.must(t, "port", name, "80"); p != fmt.Sprintf("127.0.0.1:%d", port) {
				t.Errorf("port: %q", p)
			}
			eventually(t, 20*time.Second, "the container's answer on the published port", func() bool {
				conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
				if err != nil {
					return false
				}
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
				_, _ = conn.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
				b, _ := io.ReadAll(conn)
				return strings.Contains(string(b), "served")
			})
			if b, err := os.ReadFile(filepath.Join(dir, "greeting")); err != nil || string(b) != "hi\n" {
				t.Errorf("bind mount: %q, %v", b, err)
			}
			if l := c.must(t, "logs", name); !strings.HasPrefix(l, "started") {
				t.Errorf("logs: %q", l)
			}
			if got := c.must(t, "exec", name, "sh", "-c", "echo $GREETING"); got != "hi" {
				t.Errorf("exec: %q", got)
			}
			if r := c.run(t, "", "exec", name, "sh", "-c", "exit 7"); r.code != 7 {
				t.Errorf("exec exit code: %s", r)
			}
			if got := c.must(t, "inspect", "-f", "{{.State.Status}} {{.Name}} {{.Config.Labels}}", name); got != "running /"+name+" map[e2e.dapi:"+c.name+"]" {
				t.Errorf("inspect: %q", got)
			}
			if top := c.must(t, "top", name); !strings.Contains(top, "nc -l -p 80") {
				t.Errorf("top: %q", top)
			}
			c.must(t, "stop", "-t", "1", name)
			if st := c.must(t, "inspect", "-f", "{{.State.Status}}", name); st != "exited" {
				t.Errorf("after stop: %q", st)
			}
			c.must(t, "rm", name)
			if r := c.run(t, "", "container", "inspect", name); r.code == 0 || !strings.Contains(r.stderr, "No such container") {
				t.Errorf("inspect after rm: %s", r)
			}
		})
	}
}

func TestDockerAPILogsFollow(t *testing.T) {
	startForDocker(t)
	for _, c := range dockerCLIs(t) {
		t.Run(c.name, func(t *testing.T) {
			name := "e2e-dapi-logs-" + c.name
			cleanup(t, name)
			c.must(t, "run", "-d", "--name", name, busybox, "sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.3; done; echo bye >&2")
			r := c.run(t, "", "logs", "-f", name)
			if r.code != 0 || r.stdout != "line1\nline2\nline3\n" || r.stderr != "bye\n" {
				t.Fatalf("logs -f: %s", r)
			}
			if got := c.must(t, "wait", name); got != "0" {
				t.Errorf("wait: %q", got)
			}
		})
	}
}

// ptyRun starts the client in a terminal of rows x cols.
func ptyRun(t *testing.T, c dockerCLI, rows, cols uint16, args ...string) (*exec.Cmd, *os.File, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(c.path, args...)
	cmd.Env = c.env()
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: rows, Cols: cols})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ptmx.Close() })
	out := &syncBuffer{}
	go io.Copy(out, ptmx)
	return cmd, ptmx, out
}

func waitExit(t *testing.T, cmd *exec.Cmd, out *syncBuffer, want int) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != want {
			t.Fatalf("exit code %d, want %d; output %q", code, want, out.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the client did not end; output %q", out.String())
	}
}

func TestDockerAPITTY(t *testing.T) {
	startForDocker(t)
	for _, c := range dockerCLIs(t) {
		t.Run(c.name, func(t *testing.T) {
			cmd, ptmx, out := ptyRun(t, c, 33, 101, "run", "-it", "--rm", busybox, "sh")
			waitFor(t, out, "# ", "the shell prompt")
			ptmx.Write([]byte("stty size; echo $((6*7)); tty\r"))
			waitFor(t, out, "42", "the shell's answer")
			waitFor(t, out, "/dev/pts/", "a pty in the container")
			if !strings.Contains(out.String(), "33 101") {
				t.Errorf("terminal size not passed on: %q", out.String())
			}
			pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 120})
			time.Sleep(300 * time.Millisecond)
			ptmx.Write([]byte("stty size\r"))
			waitFor(t, out, "40 120", "the new terminal size")
			ptmx.Write([]byte("exit 3\r"))
			waitExit(t, cmd, out, 3)

			name := "e2e-dapi-exec-" + c.name
			cleanup(t, name)
			c.must(t, "run", "-d", "--name", name, busybox, "sleep", "300")
			ecmd, eptmx, eout := ptyRun(t, c, 21, 77, "exec", "-it", name, "sh")
			waitFor(t, eout, "# ", "the exec shell's prompt")
			eptmx.Write([]byte("tty; stty size\r"))
			waitFor(t, eout, "21 77", "the exec's terminal size")
			pty.Setsize(eptmx, &pty.Winsize{Rows: 25, Cols: 90})
			time.Sleep(300 * time.Millisecond)
			eptmx.Write([]byte("stty size\r"))
			waitFor(t, eout, "25 90", "the exec's new terminal size")
			eptmx.Write([]byte("exit 6\r"))
			waitExit(t, ecmd, eout, 6)
		})
	}
}

func TestDockerAPIBuild(t *testing.T) {
	startForDocker(t)
	for _, c := range dockerCLIs(t) {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			df := "FROM " + busybox + "\nARG WHO=nobody\nLABEL e2e.dapi=build\nCOPY hello.txt /hello.txt\nRUN echo \"built for $WHO\" > /who\nCMD cat /hello.txt /who\n"
			if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello from the context\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			tag := "e2e-dapi-built:" + c.name
			t.Cleanup(func() { c.run(t, "", "rmi", "-f", tag) })
			r := c.run(t, "", "build", "-t", tag, "--build-arg", "WHO=docker", dir)
			if r.code != 0 || !strings.Contains(r.stdout, "Successfully tagged "+tag) {
				t.Fatalf("build: %s", r)
			}
			if got := c.must(t, "run", "--rm", tag); got != "hello from the context\nbuilt for docker" {
				t.Errorf("built image runs: %q", got)
			}
			if got := c.must(t, "image", "inspect", "-f", "{{index .Config.Labels \"e2e.dapi\"}}", tag); got != "build" {
				t.Errorf("label: %q", got)
			}
			// A broken Dockerfile is the build's error.
			if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+busybox+"\nRUN exit 9\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if r := c.run(t, "", "build", dir); r.code == 0 {
				t.Errorf("a failing RUN built: %s", r)
			}
		})
	}
}

func TestDockerAPIVolumesNetworks(t *testing.T) {
	startForDocker(t)
	for _, c := range dockerCLIs(t) {
		t.Run(c.name, func(t *testing.T) {
			vol, nw := "e2e-dapi-vol-"+c.name, "e2e-dapi-net-"+c.name
			t.Cleanup(func() { c.run(t, "", "volume", "rm", "-f", vol); c.run(t, "", "network", "rm", nw) })
			c.must(t, "volume", "create", "--label", "e2e=dapi", vol)
			if ls := c.must(t, "volume", "ls", "-q", "--filter", "label=e2e=dapi"); !strings.Contains(ls, vol) {
				t.Errorf("volume ls: %q", ls)
			}
			c.must(t, "run", "--rm", "-v", vol+":/v", busybox, "sh", "-c", "echo kept > /v/f")
			if got := c.must(t, "run", "--rm", "-v", vol+":/v", busybox, "cat", "/v/f"); got != "kept" {
				t.Errorf("volume content: %q", got)
			}
			if got := c.must(t, "volume", "inspect", "-f", "{{.Name}} {{.Driver}}", vol); got != vol+" local" {
				t.Errorf("volume inspect: %q", got)
			}
			c.must(t, "volume", "rm", vol)

			c.must(t, "network", "create", nw)
			if ls := c.must(t, "network", "ls", "--format", "{{.Name}}"); !strings.Contains(ls, nw) {
				t.Errorf("network ls: %q", ls)
			}
			srv := "e2e-dapi-srv-" + c.name
			cleanup(t, srv)
			c.must(t, "run", "-d", "--name", srv, "--network", nw, "--network-alias", "svc-"+c.name, busybox, "sleep", "300")
			for _, name := range []string{srv, "svc-" + c.name} {
				if got := c.must(t, "run", "--rm", "--network", nw, busybox, "ping", "-c", "1", "-W", "5", name); !strings.Contains(got, "1 packets received") {
					t.Errorf("ping %s on the network: %q", name, got)
				}
			}
			if got := c.must(t, "network", "inspect", "-f", "{{.Name}} {{len .Containers}}", nw); got != nw+" 1" {
				t.Errorf("network inspect: %q", got)
			}
			c.must(t, "network", "disconnect", nw, srv)
			c.must(t, "rm", "-f", srv)
			c.must(t, "network", "rm", nw)
			if r := c.run(t, "", "network", "inspect", nw); r.code == 0 {
				t.Errorf("network inspect after rm: %s", r)
			}
		})
	}
}

// TestImagesDockerAPI pulls, tags, pushes and removes images through the
// docker socket against a local registry (on the host's loopback, so
// native only, as the other image tests).
func TestImagesDockerAPI(t *testing.T) {
	startForDocker(t)
	reg := startRegistry(t, "", "")
	for _, c := range dockerCLIs(t) {
		t.Run(c.name, func(t *testing.T) {
			ref := reg + "/e2e/dapi-" + c.name + ":1"
			c.must(t, "tag", busybox, ref)
			if r := c.run(t, "", "push", ref); r.code != 0 || !strings.Contains(r.stdout, "digest: sha256:") {
				t.Fatalf("push: %s", r)
			}
			c.must(t, "rmi", ref)
			if r := c.run(t, "", "image", "inspect", ref); r.code == 0 {
				t.Fatalf("image still there after rmi: %s", r)
			}
			if r := c.run(t, "", "pull", ref); r.code != 0 || !strings.Contains(r.stdout, "Downloaded newer image") {
				t.Fatalf("pull: %s", r)
			}
			if got := c.must(t, "run", "--rm", ref, "echo", "pulled"); got != "pulled" {
				t.Errorf("run of the pulled image: %q", got)
			}
			if ls := c.must(t, "images", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(ls, ref) {
				t.Errorf("images: %q", ls)
			}
			c.must(t, "rmi", ref)
			// A pull of a missing image fails with the registry's word.
			if r := c.run(t, "", "pull", reg+"/e2e/none:1"); r.code == 0 {
				t.Errorf("pull of a missing image: %s", r)
			}
		})
	}
}

// freePort returns a loopback TCP port that is free now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestDockerAPIEventsPause(t *testing.T) {
	startForDocker(t)
	for _, c := range dockerCLIs(t) {
		t.Run(c.name, func(t *testing.T) {
			name := "e2e-dapi-ev-" + c.name
			cleanup(t, name)
			since := strconv.FormatInt(time.Now().Unix()-1, 10)
			c.must(t, "run", "-d", "--name", name, busybox, "sleep", "300")
			c.must(t, "pause", name)
			if st := c.must(t, "inspect", "-f", "{{.State.Status}}", name); st != "paused" {
				t.Errorf("after pause: %q", st)
			}
			c.must(t, "unpause", name)
			until := strconv.FormatInt(time.Now().Unix()+1, 10)
			got := c.must(t, "events", "--since", since, "--until", until, "--filter", "container="+name, "--format", "{{.Action}}")
			for _, want := range []string{"create", "start", "pause", "unpause"} {
				if !strings.Contains(got, want) {
					t.Errorf("events lack %s: %q", want, got)
				}
			}
		})
	}
}

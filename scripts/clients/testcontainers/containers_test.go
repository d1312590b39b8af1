//go:build e2e

package testcontainers

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	tc "github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
)

// httpdScript serves "hello from skiff" on port 8080 with busybox's httpd
// after saying it is ready.
const httpdScript = `mkdir -p /www && echo 'hello from skiff' > /www/index.html && echo ready && exec busybox httpd -f -p 8080 -h /www`

func runHttpd(ctx context.Context, t *testing.T, opts ...tc.ContainerCustomizer) *tc.DockerContainer {
	t.Helper()
	opts = append([]tc.ContainerCustomizer{
		tc.WithCmd("sh", "-c", httpdScript),
		tc.WithExposedPorts("8080/tcp"),
		tc.WithWaitStrategy(
			wait.ForLog("ready").WithStartupTimeout(time.Minute),
			wait.ForListeningPort("8080/tcp").WithStartupTimeout(time.Minute),
		),
	}, opts...)
	c, err := tc.Run(ctx, busybox, opts...)
	tc.CleanupContainer(t, c)
	if err != nil {
		t.Fatalf("run httpd: %v", err)
	}
	return c
}

func TestGenericContainerWaitsAndServes(t *testing.T) {
	ctx := context.Background()
	c := runHttpd(ctx, t)

	host, err := c.Host(ctx)
	if err != nil {
		t.Fatal(err)
	}
	port, err := c.MappedPort(ctx, "8080/tcp")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(fmt.Sprintf("http://%s:%s/", host, port.Port()))
	if err != nil {
		t.Fatalf("get the published port: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.TrimSpace(string(body)) != "hello from skiff" {
		t.Errorf("the published port served %q", body)
	}

	st, err := c.State(ctx)
	if err != nil || !st.Running {
		t.Errorf("state: %+v, %v", st, err)
	}
}

func TestExec(t *testing.T) {
	ctx := context.Background()
	c := runHttpd(ctx, t)

	code, out, err := c.Exec(ctx, []string{"cat", "/www/index.html"}, tcexec.Multiplexed())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(out)
	if code != 0 || strings.TrimSpace(string(b)) != "hello from skiff" {
		t.Errorf("exec cat: exit %d, output %q", code, b)
	}

	code, out, err = c.Exec(ctx, []string{"sh", "-c", "echo $GREETING; exit 7"},
		tcexec.WithEnv([]string{"GREETING=hi"}), tcexec.Multiplexed())
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(out)
	if code != 7 || strings.TrimSpace(string(b)) != "hi" {
		t.Errorf("exec exit 7: exit %d, output %q", code, b)
	}

	code, out, err = c.Exec(ctx, []string{"pwd"}, tcexec.WithWorkingDir("/www"), tcexec.Multiplexed())
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(out)
	if code != 0 || strings.TrimSpace(string(b)) != "/www" {
		t.Errorf("exec in /www: exit %d, output %q", code, b)
	}
}

func TestCopyToAndFromContainer(t *testing.T) {
	ctx := context.Background()
	c := runHttpd(ctx, t)

	want := "copied in by testcontainers\n"
	if err := c.CopyToContainer(ctx, []byte(want), "/www/copied.txt", 0o640); err != nil {
		t.Fatalf("CopyToContainer: %v", err)
	}
	code, out, err := c.Exec(ctx, []string{"stat", "-c", "%a", "/www/copied.txt"}, tcexec.Multiplexed())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(out)
	if code != 0 || strings.TrimSpace(string(b)) != "640" {
		t.Errorf("mode of the copied file: exit %d, %q", code, b)
	}

	r, err := c.CopyFileFromContainer(ctx, "/www/copied.txt")
	if err != nil {
		t.Fatalf("CopyFileFromContainer: %v", err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || string(got) != want {
		t.Errorf("copied back %q, %v; want %q", got, err, want)
	}

	// A file the container wrote itself comes out too.
	r, err = c.CopyFileFromContainer(ctx, "/www/index.html")
	if err != nil {
		t.Fatalf("CopyFileFromContainer: %v", err)
	}
	got, _ = io.ReadAll(r)
	r.Close()
	if strings.TrimSpace(string(got)) != "hello from skiff" {
		t.Errorf("index.html came out as %q", got)
	}
}

func TestNetworkAliases(t *testing.T) {
	ctx := context.Background()
	nw, err := network.New(ctx)
	tc.CleanupNetwork(t, nw)
	if err != nil {
		t.Fatalf("create network: %v", err)
	}
	runHttpd(ctx, t, network.WithNetwork([]string{"web", "web.internal"}, nw))

	client, err := tc.Run(ctx, busybox,
		tc.WithCmd("sleep", "300"),
		network.WithNetwork([]string{"client"}, nw),
	)
	tc.CleanupContainer(t, client)
	if err != nil {
		t.Fatalf("run client: %v", err)
	}
	for _, alias := range []string{"web", "web.internal"} {
		code, out, err := client.Exec(ctx, []string{"wget", "-q", "-O", "-", "http://" + alias + ":8080/"}, tcexec.Multiplexed())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(out)
		if code != 0 || strings.TrimSpace(string(b)) != "hello from skiff" {
			t.Errorf("wget http://%s:8080/: exit %d, output %q", alias, code, b)
		}
	}

	nets, err := client.Networks(ctx)
	if err != nil || len(nets) != 1 || nets[0] != nw.Name {
		t.Errorf("client's networks: %v, %v; want [%s]", nets, err, nw.Name)
	}
}

// TestTerminateRemoves checks what the reaper would otherwise guarantee:
// a terminated container and a removed network are gone from the machine.
func TestTerminateRemoves(t *testing.T) {
	ctx := context.Background()
	nw, err := network.New(ctx)
	if err != nil {
		t.Fatalf("create network: %v", err)
	}
	c, err := tc.Run(ctx, busybox, tc.WithCmd("sleep", "300"), network.WithNetwork(nil, nw))
	if err != nil {
		tc.CleanupContainer(t, c)
		tc.CleanupNetwork(t, nw)
		t.Fatalf("run: %v", err)
	}
	id := c.GetContainerID()
	if err := tc.TerminateContainer(c, tc.StopTimeout(time.Second)); err != nil {
		t.Fatalf("terminate: %v", err)
	}
	if err := nw.Remove(ctx); err != nil {
		t.Fatalf("remove network: %v", err)
	}
	if out, _ := skiff("ps", "-a", "-q", "--no-trunc"); strings.Contains(out, id) {
		t.Errorf("container %s still listed after terminate:\n%s", id[:12], out)
	}
	if out, _ := skiff("network", "ls", "--format", "{{.Name}}"); strings.Contains(out, nw.Name) {
		t.Errorf("network %s still listed after remove:\n%s", nw.Name, out)
	}
}

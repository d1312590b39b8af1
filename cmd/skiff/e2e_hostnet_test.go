//go:build e2e

package main_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer collects a server's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// httpServer runs python3's http.server on addr:port serving a folder
// with a file named marker whose content is the marker, under wrap (a
// command prefix such as ip netns exec NS), until the test ends. Its log
// (one line per request, with the client's address) is returned.
func httpServer(t *testing.T, wrap []string, addr string, port int, marker string) *lockedBuffer {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		unmet(t, "python3 is not installed: the test serves HTTP on the host with it")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, marker), []byte(marker+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{}, wrap...), "python3", "-m", "http.server", "--bind", addr, "--directory", dir, strconv.Itoa(port))
	cmd := exec.Command(args[0], args[1:]...)
	log := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	eventually(t, 10*time.Second, "the host's http server on "+addr, func() bool {
		if len(wrap) > 0 {
			probe := append(append([]string{}, wrap...), "python3", "-c",
				fmt.Sprintf("import socket; socket.create_connection(('%s', %d), 1)", addr, port))
			return exec.Command(probe[0], probe[1:]...).Run() == nil
		}
		c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, strconv.Itoa(port)), time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return log
}

// hostAddressOf is the address a container's /etc/hosts gives
// host.docker.internal.
func hostAddressOf(t *testing.T, run func(args ...string) result) string {
	t.Helper()
	r := run("run", "--rm", busybox, "cat", "/etc/hosts")
	m := regexp.MustCompile(`(?m)^(\S+)\thost\.docker\.internal host\.skiff\.internal$`).FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil {
		t.Fatalf("no host.docker.internal in a container's /etc/hosts: %s", r)
	}
	return m[1]
}

// checkHostLoopback shows that a server on the host's address addr
// answers a container at host.docker.internal, host.skiff.internal and an
// --add-host name for host-gateway, and a container of the host network
// at host.docker.internal.
func checkHostLoopback(t *testing.T, run func(args ...string) result, addr string) {
	t.Helper()
	port := freePort(t)
	httpServer(t, nil, addr, port, "host-loopback-marker")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"host.docker.internal", []string{"wget", "-qO-", fmt.Sprintf("http://host.docker.internal:%d/host-loopback-marker", port)}},
		{"host.skiff.internal", []string{"wget", "-qO-", fmt.Sprintf("http://host.skiff.internal:%d/host-loopback-marker", port)}},
		{"add-host host-gateway", []string{"--add-host", "devhost:host-gateway", busybox, "wget", "-qO-", fmt.Sprintf("http://devhost:%d/host-loopback-marker", port)}},
		{"host network", []string{"--network", "host", busybox, "wget", "-qO-", fmt.Sprintf("http://host.docker.internal:%d/host-loopback-marker", port)}},
	} {
		args := append([]string{"run", "--rm"}, tc.args...)
		if tc.args[0] == "wget" {
			args = append([]string{"run", "--rm", busybox}, tc.args...)
		}
		if r := run(args...); r.code != 0 || strings.TrimSpace(r.stdout) != "host-loopback-marker" {
			t.Errorf("%s: the host's server on %s:%d did not answer: %s", tc.name, addr, port, r)
		}
	}
}

// TestHostLoopback: a server on the host answers a container at
// host.docker.internal. In a VM that is a server on the host's
// 127.0.0.1; with the native driver, as docker on Linux, it is the
// default network's gateway (an address of the host), since the host's
// loopback is not reachable from a container's network namespace.
func TestHostLoopback(t *testing.T) {
	run := func(args ...string) result { t.Helper(); return skiff(t, args...) }
	addr := "127.0.0.1"
	if driver() == "native" {
		addr = hostAddressOf(t, run)
	}
	checkHostLoopback(t, run, addr)
}

// TestMachineUserNetwork boots a QEMU machine of its own on the
// user-mode network, with the host daemon in a mount namespace whose
// /etc/hosts names a server that only the host's routes reach (in a
// network namespace behind a veth), and shows that a container resolves
// that name through the host's resolver and reaches the server from the
// host's own address; that host.docker.internal reaches the host's
// 127.0.0.1 and -p publishes; then the same machine set to nat.
func TestMachineUserNetwork(t *testing.T) {
	if driver() != "qemu" {
		t.Skip("boots a QEMU machine: runs with SKIFF_E2E_DRIVER=qemu (make e2e-machine)")
	}
	for _, tool := range []string{"ip", "unshare", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			unmet(t, "%s is not installed", tool)
		}
	}
	if _, err := os.Stat(filepath.Join(binDir, "vmimage", runtime.GOARCH, "manifest.json")); err != nil {
		unmet(t, "no guest image next to skiff (make vmimage && make build)")
	}

	// A server only the host's route reaches: 198.18.0.0/15 is for
	// benchmarks and never routed on the internet.
	id := strconv.Itoa(os.Getpid() % 100000)
	ns, hostIf, nsIf := "skiffe2e"+id, "vsk"+id+"h", "vsk"+id+"n"
	const hostSide, nsSide = "198.18.77.1", "198.18.77.2"
	sh := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	sh("ip", "netns", "add", ns)
	t.Cleanup(func() {
		_ = exec.Command("ip", "link", "del", hostIf).Run()
		_ = exec.Command("ip", "netns", "del", ns).Run()
	})
	sh("ip", "link", "add", hostIf, "type", "veth", "peer", "name", nsIf)
	sh("ip", "link", "set", nsIf, "netns", ns)
	sh("ip", "addr", "add", hostSide+"/30", "dev", hostIf)
	sh("ip", "link", "set", hostIf, "up")
	sh("ip", "netns", "exec", ns, "ip", "addr", "add", nsSide+"/30", "dev", nsIf)
	sh("ip", "netns", "exec", ns, "ip", "link", "set", nsIf, "up")
	sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
	routedPort := freePort(t)
	routedLog := httpServer(t, []string{"ip", "netns", "exec", ns}, nsSide, routedPort, "routed-marker")

	// The daemon's resolver reads a hosts file of the test's, bound over
	// /etc/hosts in a mount namespace of its own: the host's file stays.
	const name = "hostonly.skiff-e2e.test"
	orig, err := os.ReadFile("/etc/hosts")
	if err != nil {
		t.Fatal(err)
	}
	hosts := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hosts, append(orig, []byte("\n"+nsSide+"\t"+name+"\n")...), 0o644); err != nil {
		t.Fatal(err)
	}

	home := t.TempDir()
	vmEnv := append(os.Environ(), "SKIFF_HOME="+home, "SKIFF_DRIVER=qemu")
	vm := func(args ...string) result {
		t.Helper()
		return runSkiff(t, vmEnv, 5*time.Minute, "", args...)
	}
	t.Cleanup(func() {
		vm("machine", "stop")
		if t.Failed() {
			for _, f := range []string{"console.log", "daemon.log"} {
				if data, err := os.ReadFile(filepath.Join(home, "machines", "default", f)); err == nil {
					t.Logf("%s:\n%s", f, lastLines(string(data), 30))
				}
			}
		}
	})
	start := exec.Command("unshare", "-m", "sh", "-c", `mount --bind "$0" /etc/hosts && exec "$1" machine start --memory 1g`, hosts, filepath.Join(binDir, "skiff"))
	start.Env = vmEnv
	if out, err := start.CombinedOutput(); err != nil {
		t.Fatalf("machine start in a mount namespace: %v: %s", err, out)
	}
	if r := vm("machine", "inspect", "--format", "{{.Network}}"); strings.TrimSpace(r.stdout) != "user" {
		t.Errorf("a new machine's network: %s, want user", r)
	}

	r := vm("run", "--rm", busybox, "nslookup", name)
	if r.code != 0 || !strings.Contains(r.stdout, nsSide) {
		t.Errorf("the host resolver's name %s in a container: %s", name, r)
	}
	r = vm("run", "--rm", busybox, "wget", "-qO-", fmt.Sprintf("http://%s:%d/routed-marker", name, routedPort))
	if r.code != 0 || strings.TrimSpace(r.stdout) != "routed-marker" {
		t.Errorf("the server behind the host's route did not answer the container: %s\nserver log:\n%s", r, routedLog)
	} else if !strings.Contains(routedLog.String(), hostSide+" - -") {
		t.Errorf("the server saw the request come from elsewhere than the host's own address %s:\n%s", hostSide, routedLog)
	}

	run := func(args ...string) result { t.Helper(); return vm(args...) }
	if a := hostAddressOf(t, run); a != "192.168.127.254" {
		t.Errorf("host.docker.internal on the user network is %s", a)
	}
	checkHostLoopback(t, run, "127.0.0.1")
	checkPublish(t, run)

	if r := vm("machine", "set", "--network", "bogus"); r.code != 125 || !strings.Contains(r.stderr, `invalid argument "bogus" for "--network": use user`) || !strings.Contains(r.stderr, "or nat") {
		t.Errorf("machine set --network bogus: %s", r)
	}
	if r := vm("machine", "set", "--network", "nat"); r.code != 0 {
		t.Fatalf("machine set --network nat: %s", r)
	}
	if r := vm("machine", "stop"); r.code != 0 {
		t.Fatalf("machine stop: %s", r)
	}
	if r := vm("machine", "start"); r.code != 0 {
		t.Fatalf("machine start on nat: %s", r)
	}
	if r := vm("machine", "inspect", "--format", "{{.Network}}"); strings.TrimSpace(r.stdout) != "nat" {
		t.Errorf("the machine's network after set --network nat: %s", r)
	}
	if a := hostAddressOf(t, run); a != "10.0.2.2" {
		t.Errorf("host.docker.internal on nat is %s, want slirp's host address 10.0.2.2", a)
	}
	checkHostLoopback(t, run, "127.0.0.1")
	checkPublish(t, run)
}

// checkPublish shows that -p publishes a container's port on the host.
func checkPublish(t *testing.T, run func(args ...string) result) {
	t.Helper()
	port := freePort(t)
	name := "e2e-hostnet-publish"
	r := run("run", "-d", "--name", name, "-p", fmt.Sprintf("127.0.0.1:%d:80", port), busybox,
		"sh", "-c", "mkdir /w && echo published-marker > /w/index.html && exec httpd -f -p 80 -h /w")
	if r.code != 0 {
		t.Fatalf("run -p: %s", r)
	}
	defer run("rm", "-f", name)
	client := http.Client{Timeout: 5 * time.Second}
	eventually(t, 30*time.Second, "the published port to answer", func() bool {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.TrimSpace(string(b)) == "published-marker"
	})
}

//go:build e2e

package main_test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// publishedAddr is the host address of a container's published port, as
// skiff port prints it.
func publishedAddr(t *testing.T, name, port string) string {
	t.Helper()
	out := must(t, "port", name, port)
	addr := strings.Fields(out)
	if len(addr) != 1 {
		t.Fatalf("skiff port %s %s printed %q, want one address", name, port, out)
	}
	return addr[0]
}

// machineLinks lists the network interfaces of the machine the
// containers run on: the host's with the native driver, the VM's with
// qemu (seen from a container on the host network).
func machineLinks(t *testing.T) string {
	t.Helper()
	return must(t, "run", "--rm", "--network", "host", busybox, "ls", "/sys/class/net")
}

func TestNetworkPublishHTTP(t *testing.T) {
	name := "e2e-net-http"
	cleanup(t, name)
	must(t, "run", "-d", "--name", name, "-p", "127.0.0.1::80", "--expose", "81", busybox, "busybox", "httpd", "-f", "-p", "80", "-h", "/etc")
	addr := publishedAddr(t, name, "80")
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("published on %s, want 127.0.0.1", addr)
	}
	hostname := must(t, "inspect", "--format", "{{.Config.Hostname}}", name)
	var body string
	eventually(t, 20*time.Second, "httpd to answer through the published port", func() bool {
		resp, err := (&http.Client{Timeout: 3 * time.Second}).Get("http://" + addr + "/hostname")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == http.StatusOK
	})
	if strings.TrimSpace(body) != hostname {
		t.Fatalf("GET /hostname through %s = %q, want the container's hostname %q", addr, body, hostname)
	}
	ps := must(t, "ps", "--filter", "name="+name, "--format", "{{.Ports}}")
	if want := addr + "->80/tcp, 81/tcp"; ps != want {
		t.Errorf("ps PORTS = %q, want %q", ps, want)
	}
	all := must(t, "port", name)
	if all != "80/tcp -> "+addr {
		t.Errorf("skiff port = %q, want %q", all, "80/tcp -> "+addr)
	}
	ip := must(t, "inspect", "--format", "{{.NetworkSettings.IPAddress}}", name)
	if net.ParseIP(ip) == nil {
		t.Errorf("NetworkSettings.IPAddress = %q, want an address", ip)
	}
	if r := skiff(t, "port", name, "443"); r.code == 0 || !strings.Contains(r.stderr, "No public port '443/tcp' published for "+name) {
		t.Errorf("skiff port of an unpublished port: %s; want it to say no public port 443/tcp", r)
	}
}

// udpEchoImage imports an image whose command echoes UDP datagrams on
// port 9999 (busybox has no UDP server), built from a small Go program.
func udpEchoImage(t *testing.T) string {
	t.Helper()
	const img = "localhost/e2e-udpecho:latest"
	if skiff(t, "image", "inspect", img).code == 0 {
		return img
	}
	dir := t.TempDir()
	src := `package main

import "net"

func main() {
	c, err := net.ListenPacket("udp", ":9999")
	if err != nil {
		panic(err)
	}
	buf := make([]byte, 65535)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			panic(err)
		}
		c.WriteTo(append([]byte("echo:"), buf[:n]...), from)
	}
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "udpecho")
	build := exec.Command("go", "build", "-o", bin, "main.go")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GO111MODULE=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the UDP echo program: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	_ = tw.WriteHeader(&tar.Header{Name: "udpecho", Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg})
	_, _ = tw.Write(data)
	_ = tw.Close()
	tarPath := filepath.Join(dir, "udpecho.tar")
	if err := os.WriteFile(tarPath, tb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	must(t, "import", "--change", `CMD ["/udpecho"]`, "--change", "EXPOSE 9999/udp", tarPath, img)
	return img
}

func TestNetworkPublishUDP(t *testing.T) {
	img := udpEchoImage(t)
	name := "e2e-net-udp"
	cleanup(t, name)
	// -P publishes the image's EXPOSE 9999/udp on a free port.
	must(t, "run", "-d", "--name", name, "-P", img)
	addr := publishedAddr(t, name, "9999/udp")
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 128)
	for i, msg := range []string{"one", "two"} {
		var got string
		eventually(t, 20*time.Second, "a UDP echo through "+addr, func() bool {
			_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
			if _, err := c.Write([]byte(msg)); err != nil {
				return false
			}
			n, err := c.Read(buf)
			got = string(buf[:n])
			return err == nil
		})
		if got != "echo:"+msg {
			t.Fatalf("datagram %d: got %q, want %q", i, got, "echo:"+msg)
		}
	}
}

func TestNetworkUserByName(t *testing.T) {
	net1 := "e2e-net-user"
	t.Cleanup(func() { skiff(t, "network", "rm", net1) })
	cleanup(t, "e2e-net-db", "e2e-net-client")
	must(t, "network", "create", net1)
	if ls := must(t, "network", "ls", "--format", "{{.Name}} {{.Driver}}"); !strings.Contains(ls, net1+" bridge") || !strings.Contains(ls, "bridge bridge") {
		t.Fatalf("network ls lacks %s or the default bridge:\n%s", net1, ls)
	}
	must(t, "run", "-d", "--name", "e2e-net-db", "--network", net1, "--network-alias", "e2e-db-alias", busybox, "busybox", "httpd", "-f", "-p", "80", "-h", "/etc")
	hostname := must(t, "inspect", "--format", "{{.Config.Hostname}}", "e2e-net-db")
	out := must(t, "run", "--name", "e2e-net-client", "--network", net1, busybox, "sh", "-c", "ping -c1 -W5 e2e-net-db >/dev/null && wget -qO- http://e2e-net-db/hostname")
	if out != hostname {
		t.Fatalf("wget http://e2e-net-db/hostname from a peer = %q, want %q", out, hostname)
	}
	if out := must(t, "run", "--rm", "--network", net1, busybox, "wget", "-qO-", "http://e2e-db-alias/hostname"); out != hostname {
		t.Fatalf("wget by --network-alias from a peer = %q, want %q", out, hostname)
	}
	if got := must(t, "inspect", "--format", "{{index .NetworkSettings.Networks \""+net1+"\" | json}}", "e2e-net-db"); !strings.Contains(got, "e2e-db-alias") {
		t.Errorf("inspect lacks the alias: %s", got)
	}
	if r := skiff(t, "network", "rm", net1); r.code != 125 || !strings.Contains(r.stderr, "active endpoints") {
		t.Fatalf("network rm of a network in use: %s; want exit 125 naming its endpoints", r)
	}
	// A container joins later with connect, and its peers learn its name.
	must(t, "rm", "e2e-net-client")
	must(t, "run", "-d", "--name", "e2e-net-client", busybox, "sleep", "60")
	must(t, "network", "connect", net1, "e2e-net-client")
	got := must(t, "exec", "e2e-net-client", "wget", "-qO-", "http://e2e-net-db/hostname")
	if got != hostname {
		t.Fatalf("after network connect, wget by name = %q, want %q", got, hostname)
	}
	must(t, "network", "disconnect", net1, "e2e-net-client")
	if r := skiff(t, "exec", "e2e-net-client", "ping", "-c1", "-W2", "e2e-net-db"); r.code == 0 {
		t.Fatalf("after network disconnect the peer still answers by name: %s", r)
	}
}

// TestNetworkCreateRefused: each network create that must fail says why,
// and leaves no network behind.
func TestNetworkCreateRefused(t *testing.T) {
	const taken, wide = "e2e-net-taken", "e2e-net-wide"
	t.Cleanup(func() {
		skiff(t, "network", "rm", taken)
		skiff(t, "network", "rm", wide)
	})
	must(t, "network", "create", taken)
	must(t, "network", "create", "--subnet", "10.213.0.0/16", wide)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"name in use", []string{taken}, "network with name " + taken + " already exists"},
		{"pre-defined name", []string{"bridge"}, "bridge is a pre-defined network and cannot be created"},
		{"bad name", []string{"no/slash"}, `invalid network name "no/slash"`},
		{"unknown driver", []string{"--driver", "overlay", "e2e-net-overlay"}, `network driver "overlay" is not supported: use bridge`},
		{"bad subnet", []string{"--subnet", "10.1.2.3", "e2e-net-badsub"}, `invalid argument "10.1.2.3" for "--subnet": use an IPv4 subnet in CIDR form`},
		{"overlapping subnet", []string{"--subnet", "10.213.7.0/24", "e2e-net-overlap"}, "overlaps network " + wide},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := skiff(t, append([]string{"network", "create"}, tc.args...)...)
			if r.code != 125 || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("network create %s: %s; want exit 125 saying %q", strings.Join(tc.args, " "), r, tc.want)
			}
			name := tc.args[len(tc.args)-1]
			if name != taken && name != "bridge" {
				if r := skiff(t, "network", "inspect", name); r.code == 0 {
					t.Errorf("the refused create left network %s behind", name)
				}
			}
		})
	}
}

func TestNetworkNone(t *testing.T) {
	out := must(t, "run", "--rm", "--network", "none", busybox, "ls", "/sys/class/net")
	if strings.Fields(out)[0] != "lo" || len(strings.Fields(out)) != 1 {
		t.Fatalf("--network none has interfaces %q, want only lo", out)
	}
	out = must(t, "run", "--rm", busybox, "ls", "/sys/class/net")
	if strings.Join(strings.Fields(out), " ") != "eth0 lo" {
		t.Fatalf("the default network gives interfaces %q, want eth0 and lo", out)
	}
	hosts := must(t, "run", "--rm", "--add-host", "db.example:192.0.2.7", "--dns", "192.0.2.53", busybox, "sh", "-c", "cat /etc/hosts /etc/resolv.conf")
	if !strings.Contains(hosts, "192.0.2.7\tdb.example") || !strings.Contains(hosts, "nameserver 192.0.2.53") {
		t.Fatalf("--add-host and --dns are not in the container's files:\n%s", hosts)
	}
}

func TestNetworkPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	name := "e2e-net-inuse"
	cleanup(t, name)
	r := skiff(t, "run", "-d", "--name", name, "-p", fmt.Sprintf("127.0.0.1:%d:80", port), busybox, "sleep", "60")
	if r.code != 125 || !strings.Contains(r.stderr, fmt.Sprint(port)) || !strings.Contains(r.stderr, "in use") {
		t.Fatalf("run publishing a port in use: %s; want exit 125 naming the port", r)
	}
	if r := skiff(t, "inspect", name); r.code == 0 {
		t.Errorf("the failed run left container %s behind", name)
	}
}

func TestNetworkCleanup(t *testing.T) {
	name := "e2e-net-clean"
	cleanup(t, name)
	id := must(t, "run", "-d", "--name", name, "-p", "127.0.0.1::80", busybox, "busybox", "httpd", "-f", "-p", "80")
	addr := publishedAddr(t, name, "80")
	veth := "sk" + id[:10]
	if links := machineLinks(t); !strings.Contains(links, veth) {
		t.Fatalf("running container has no veth %s on the machine: %s", veth, links)
	}
	must(t, "rm", "-f", name)
	// The agent deletes a stopped container's veth in the background
	// (the kernel takes ~10 ms per link): it is gone moments after rm.
	eventually(t, 5*time.Second, "the veth "+veth+" to be gone after rm", func() bool {
		return !strings.Contains(machineLinks(t), veth)
	})
	eventually(t, 10*time.Second, "the published port to be free after rm", func() bool {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return false
		}
		ln.Close()
		return true
	})
}

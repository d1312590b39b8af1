//go:build e2e && linux

package roundtrip

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/skiffrun/skiff/guest/api/wire"
	"github.com/skiffrun/skiff/guest/tapfwd"
	"github.com/skiffrun/skiff/host/usernet"
	"github.com/skiffrun/skiff/internal/e2eneed"
	"github.com/skiffrun/skiff/platform"
	"github.com/skiffrun/skiff/platform/hcs"
)

// TestUserNetworkFrameLink runs a Windows machine's user-mode network with
// everything real but hvsock: the host daemon's stack (host/usernet) on
// its stream socket, the HCS driver's relay on a unix socket in place of
// the VM's hvsock port, and the agent's forwarder (guest/tapfwd) with its
// TAP device eth0 in a network namespace in place of the machine,
// addressed as the kernel command line the driver writes tells the
// agent. From inside the namespace an HTTP server on the host's
// 127.0.0.1 answers at the network's host-loopback address, the stack's
// DNS at the gateway names host.docker.internal, and both work again
// after the link drops and the forwarder dials anew.
func TestUserNetworkFrameLink(t *testing.T) {
	if os.Geteuid() != 0 {
		unmet(t, "needs root: it makes a network namespace and a TAP device")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()

	// The machine's network as host/machine gives it on Windows, and what
	// the agent reads of it from the kernel command line.
	n := platform.UserNetwork(dir)
	n.Link.VsockPort = platform.UserNetVsockPort
	spec := platform.MachineSpec{Name: "default", Agent: platform.AgentTransport{VsockPort: hcs.AgentVsockPort}, Network: n}
	args, err := platform.GuestArgs(spec, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	boot, err := wire.ParseCmdline(fmtArgs(args))
	if err != nil {
		t.Fatal(err)
	}
	if boot.Net == nil || boot.NetVsockPort != platform.UserNetVsockPort || !boot.HostLoopback.IsValid() {
		t.Fatalf("the agent reads no frame link or static network from %q", args)
	}

	stack, err := usernet.Listen(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	defer stack.Close()
	vsock := filepath.Join(dir, "vsock.sock")
	stopRelay := relay(t, vsock, n.Link.Stream)

	hostLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 32<<20)
	for i := range big {
		big[i] = byte(i * 7 / 5)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "hello from the host's loopback")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(big) })
	mux.HandleFunc("/upload", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil || !bytes.Equal(b, big) {
			http.Error(w, "upload differs", http.StatusBadRequest)
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(hostLn) }()
	defer srv.Close()
	port := hostLn.Addr().(*net.TCPAddr).Port

	// The machine: a namespace with the agent's TAP device in it.
	var ns netns.NsHandle
	var dev *os.File
	err = onThread(func() error {
		var err error
		if ns, err = netns.New(); err != nil {
			return err
		}
		if dev, err = tapfwd.OpenTAP("eth0"); err != nil {
			return err
		}
		return address("eth0", boot.Net)
	})
	if ns.IsOpen() {
		defer ns.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	fwdCtx, stopFwd := context.WithCancel(ctx)
	forwarded := make(chan struct{})
	go func() {
		defer close(forwarded)
		dial := func(context.Context) (net.Conn, error) { return net.Dial("unix", vsock) }
		tapfwd.Run(fwdCtx, dev, dial, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	}()
	defer func() {
		stopFwd()
		<-forwarded
	}()

	dialIn := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := onThread(func() error {
			if err := netns.Set(ns); err != nil {
				return err
			}
			var err error
			c, err = (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DialContext: dialIn, DisableKeepAlives: true}}
	dns := net.JoinHostPort(boot.Net.DNS.String(), "53")
	resolver := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dialIn(ctx, network, dns)
	}}
	check := func(when string) {
		t.Helper()
		url := "http://" + net.JoinHostPort(boot.HostLoopback.String(), strconv.Itoa(port)) + "/"
		resp, err := client.Get(url)
		if err != nil {
			t.Fatalf("%s: GET %s from the machine: %v", when, url, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(body) != "hello from the host's loopback" {
			t.Errorf("%s: GET %s = %q, %v", when, url, body, err)
		}
		ips, err := resolver.LookupNetIP(ctx, "ip4", "host.docker.internal.")
		if err != nil || len(ips) != 1 || ips[0] != boot.HostLoopback {
			t.Errorf("%s: host.docker.internal at %s = %v, %v; want %s", when, dns, ips, err, boot.HostLoopback)
		}
	}
	check("first link")

	// 32 MiB each way: full-sized frames, back to back, checked byte for
	// byte.
	base := "http://" + net.JoinHostPort(boot.HostLoopback.String(), strconv.Itoa(port))
	began := time.Now()
	resp, err := client.Get(base + "/big")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(body, big) {
		t.Fatalf("GET /big: %d bytes (%v), not the %d the host sent", len(body), err, len(big))
	}
	down := time.Since(began)
	began = time.Now()
	resp, err = client.Post(base+"/upload", "application/octet-stream", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /upload: %s", resp.Status)
	}
	up := time.Since(began)
	mib := float64(len(big)) / (1 << 20)
	t.Logf("32 MiB through the frame link: host to machine %.0f MiB/s, machine to host %.0f MiB/s", mib/down.Seconds(), mib/up.Seconds())

	// The relay goes away (its links with it) and comes back, as when the
	// host daemon's listener is made anew: the forwarder dials again.
	stopRelay()
	stopRelay = relay(t, vsock, n.Link.Stream)
	// The old links are gone with the relay that carried them: what
	// answers now came over a link the forwarder dialled anew.
	check("after the link dropped")
	stopRelay()
}

// relay serves hcs.RelayUserNetwork on a unix socket at vsock, in place
// of the VM's hvsock port, and returns what stops it.
func relay(t *testing.T, vsock, stream string) (stop func()) {
	t.Helper()
	_ = os.Remove(vsock)
	l, err := net.Listen("unix", vsock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- hcs.RelayUserNetwork(l, stream) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		l.Close()
		if err := <-done; err != nil {
			t.Errorf("relay: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// onThread runs f on an OS thread of its own, which ends with it: a
// thread whose network namespace f changed never runs other goroutines.
func onThread(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		errc <- f()
	}()
	return <-errc
}

// address gives link name the static configuration the agent applies:
// its address, up, and the default route via the gateway.
func address(name string, n *wire.StaticNet) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	addr := &netlink.Addr{IPNet: prefixNet(n.Addr)}
	if err := netlink.AddrReplace(link, addr); err != nil {
		return fmt.Errorf("address %s: %w", n.Addr, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return err
	}
	return netlink.RouteReplace(&netlink.Route{LinkIndex: link.Attrs().Index, Gw: n.Gateway.AsSlice()})
}

func prefixNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func fmtArgs(args []string) string {
	s := "console=hvc0"
	for _, a := range args {
		s += " " + a
	}
	return s
}

// unmet fails t for a missing prerequisite (see e2eneed).
var unmet = e2eneed.Unmet
